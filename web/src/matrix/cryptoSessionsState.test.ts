import { describe, expect, it } from "vitest";
import { passwordAuth, sessionRows, uiaChallenge, validSessionName } from "./cryptoSessionsState";

describe("session list", () => {
  it("puts this session first, then the most recently active, with each one's trust", () => {
    const rows = sessionRows(
      [
        { device_id: "OLD", display_name: "Firefox", last_seen_ts: 100 },
        { device_id: "ME", display_name: " ", last_seen_ts: 50 },
        { device_id: "NEW", last_seen_ts: 900, last_seen_ip: "10.0.0.1" },
        { device_id: "GONE" },
      ],
      "ME",
      new Map([["OLD", false], ["ME", true], ["NEW", true]]),
    );
    expect(rows.map((r) => [r.deviceId, r.trust, r.current])).toEqual([
      ["ME", "verified", true],
      ["NEW", "verified", false],
      ["OLD", "unverified", false],
      ["GONE", "unknown", false],
    ]);
    expect(rows[0]!.displayName).toBeNull();
    expect(rows[1]!.lastSeenIp).toBe("10.0.0.1");
  });

  it("accepts trimmed, non-empty names", () => {
    expect(validSessionName("  Bureau  ")).toBe("Bureau");
    expect(validSessionName("   ")).toBeNull();
    expect(validSessionName("x".repeat(101))).toBeNull();
  });
});

describe("signing a session out (UIA)", () => {
  it("reads the server's password challenge", () => {
    expect(uiaChallenge(401, { session: "s1", flows: [{ stages: ["m.login.password"] }] })).toEqual({
      session: "s1",
      passwordAllowed: true,
      wrongPassword: false,
    });
    expect(
      uiaChallenge(401, { session: "s1", flows: [{ stages: ["m.login.password"] }], errcode: "M_FORBIDDEN" })?.wrongPassword,
    ).toBe(true);
    expect(uiaChallenge(401, { flows: [{ stages: ["m.login.sso"] }] })?.passwordAllowed).toBe(false);
    expect(uiaChallenge(403, { flows: [] })).toBeNull();
    expect(uiaChallenge(401, { errcode: "M_UNKNOWN_TOKEN" })).toBeNull();
  });

  it("builds the password stage with the session", () => {
    expect(passwordAuth("@a:b", "pw", "s1")).toEqual({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: "@a:b" },
      password: "pw",
      session: "s1",
    });
    expect(passwordAuth("@a:b", "pw", null)).not.toHaveProperty("session");
  });
});
