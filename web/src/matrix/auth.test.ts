import { describe, expect, it } from "vitest";
import { checkPassword, chooseFlow, identifierFor, nextStage, parsePasswordPolicy, stageAuth } from "./auth";

describe("identifierFor", () => {
  it("sends an email address as a third-party identifier", () => {
    expect(identifierFor(" Alice.Martin@Interieur.Gouv.fr ")).toEqual({
      type: "m.id.thirdparty",
      medium: "email",
      address: "alice.martin@interieur.gouv.fr",
    });
  });
  it("sends user IDs and localparts as m.id.user", () => {
    expect(identifierFor("@alice:hs.example")).toEqual({ type: "m.id.user", user: "@alice:hs.example" });
    expect(identifierFor("alice")).toEqual({ type: "m.id.user", user: "alice" });
  });
});

describe("password policy", () => {
  it("reads stable and unstable field names", () => {
    expect(parsePasswordPolicy({ "m.minimum_length": 12, "m.require_digit": true })).toMatchObject({
      minLength: 12,
      requireDigit: true,
      requireSymbol: false,
    });
    expect(parsePasswordPolicy({ "org.matrix.msc2000.require_uppercase": true }).requireUppercase).toBe(true);
  });
  it("lists each rule with whether the password meets it", () => {
    const policy = parsePasswordPolicy({
      "m.minimum_length": 8,
      "m.require_digit": true,
      "m.require_symbol": true,
      "m.require_lowercase": true,
      "m.require_uppercase": true,
    });
    expect(checkPassword(policy, "Abc1!")).toEqual([
      { rule: "minLength", ok: false },
      { rule: "lowercase", ok: true },
      { rule: "uppercase", ok: true },
      { rule: "digit", ok: true },
      { rule: "symbol", ok: true },
    ]);
    expect(checkPassword(policy, "motdepasse").map((r) => r.ok)).toEqual([true, true, false, false, false]);
  });
});

describe("user-interactive registration", () => {
  it("picks the first flow it can complete and walks its stages", () => {
    const flows = [["m.login.recaptcha", "m.login.dummy"], ["m.login.email.identity"]];
    expect(chooseFlow(flows)).toEqual(["m.login.email.identity"]);
    expect(nextStage({ session: "s", flows, completed: [], params: {} })).toBe("m.login.email.identity");
    expect(nextStage({ session: "s", flows, completed: ["m.login.email.identity"], params: {} })).toBeNull();
    expect(chooseFlow([["m.login.recaptcha"]])).toBeNull();
  });
  it("builds each stage's auth body", () => {
    expect(stageAuth("m.login.dummy", "S", {})).toEqual({ type: "m.login.dummy", session: "S" });
    expect(stageAuth("m.login.registration_token", "S", { token: "T" })).toEqual({
      type: "m.login.registration_token",
      token: "T",
      session: "S",
    });
    expect(
      stageAuth("m.login.email.identity", "S", { email: { sid: "sid", clientSecret: "cs", email: "a@b.fr" } }),
    ).toEqual({ type: "m.login.email.identity", threepid_creds: { sid: "sid", client_secret: "cs" }, session: "S" });
  });
});
