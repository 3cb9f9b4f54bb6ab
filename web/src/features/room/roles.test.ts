import { describe, expect, it } from "vitest";
import { roleOf } from "./roles";

describe("roles", () => {
  it("names the usual power levels and flags the others as custom", () => {
    expect(roleOf(0)).toBe("member");
    expect(roleOf(50)).toBe("moderator");
    expect(roleOf(100)).toBe("admin");
    expect(roleOf(75)).toBe("custom");
  });
});
