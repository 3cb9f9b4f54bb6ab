import { describe, expect, it } from "vitest";
import { sanitizeCallMemberContent } from "./groupCallState";

describe("sanitizeCallMemberContent", () => {
  it("keeps clean content as it is (same object)", () => {
    const content = { "m.calls": [{ "m.call_id": "g1", "m.devices": [{ device_id: "D", session_id: "s" }] }] };
    expect(sanitizeCallMemberContent(content)).toBe(content);
    const other = { memberships: "anything" };
    expect(sanitizeCallMemberContent(other)).toBe(other);
  });

  it("drops calls and devices that are not objects", () => {
    const content = {
      "m.calls": [null, "x", 3, ["array"], { "m.call_id": "g1", "m.devices": [null, 3, { device_id: "D" }] }],
      extra: true,
    };
    expect(sanitizeCallMemberContent(content)).toEqual({
      "m.calls": [{ "m.call_id": "g1", "m.devices": [{ device_id: "D" }] }],
      extra: true,
    });
  });
});
