import { describe, expect, it } from "vitest";
import { connectionState, pageTitle } from "./connection";

describe("connection banner state", () => {
  it("is offline whenever the browser is offline", () => {
    expect(connectionState("SYNCING", false)).toBe("offline");
  });
  it("follows the SDK's sync states", () => {
    expect(connectionState(null, true)).toBe("connecting");
    expect(connectionState("PREPARED", true)).toBe("online");
    expect(connectionState("SYNCING", true)).toBe("online");
    expect(connectionState("RECONNECTING", true)).toBe("reconnecting");
    expect(connectionState("ERROR", true)).toBe("reconnecting");
    expect(connectionState("CATCHUP", true)).toBe("reconnecting");
  });
});

describe("page title", () => {
  it("shows the unread count before the brand", () => {
    expect(pageTitle("Sceau", 0)).toBe("Sceau");
    expect(pageTitle("Sceau", 3)).toBe("(3) Sceau");
    expect(pageTitle("Sceau", 1, "Équipe")).toBe("(1) Équipe · Sceau");
  });
});
