import { describe, expect, it } from "vitest";
import { colourIndex, initials } from "./Avatar";

describe("avatar initials", () => {
  it("takes the first letters of two words, or the first letter of one", () => {
    expect(initials("Alice Martin")).toBe("AM");
    expect(initials("@bob:hs")).toBe("B");
    expect(initials("@alice:sceau.test")).toBe("A");
    expect(initials("élise")).toBe("É");
    expect(initials("")).toBe("?");
  });
  it("gives a stable colour per ID", () => {
    expect(colourIndex("@a:hs")).toBe(colourIndex("@a:hs"));
    expect(colourIndex("@a:hs")).toBeLessThan(8);
  });
});
