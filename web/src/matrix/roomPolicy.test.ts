import { describe, expect, it } from "vitest";
import { accessRuleOf, isEmailAddress, mayOpenToExternals, pendingEmailInvites } from "./roomPolicy";

describe("room access rules", () => {
  it("reads the three rules and nothing else", () => {
    expect(accessRuleOf({ rule: "restricted" })).toBe("restricted");
    expect(accessRuleOf({ rule: "unrestricted" })).toBe("unrestricted");
    expect(accessRuleOf({ rule: "direct" })).toBe("direct");
    expect(accessRuleOf({ rule: "public" })).toBeNull();
    expect(accessRuleOf(undefined)).toBeNull();
  });

  it("offers only restricted → unrestricted, to those who may send the event", () => {
    expect(mayOpenToExternals("restricted", true)).toBe(true);
    expect(mayOpenToExternals("restricted", false)).toBe(false);
    expect(mayOpenToExternals("unrestricted", true)).toBe(false);
    expect(mayOpenToExternals("direct", true)).toBe(false);
    expect(mayOpenToExternals(null, true)).toBe(false);
  });
});

describe("email invitations", () => {
  it("tells an email address from a Matrix ID", () => {
    expect(isEmailAddress("jeanne@partenaire.fr")).toBe(true);
    expect(isEmailAddress("  jeanne@partenaire.fr ")).toBe(true);
    expect(isEmailAddress("@jeanne:interieur.gouv.fr")).toBe(false);
    expect(isEmailAddress("jeanne")).toBe(false);
    expect(isEmailAddress("jeanne@localhost")).toBe(false);
  });

  it("lists pending invitations by their masked name, leaving out revoked ones", () => {
    const pending = pendingEmailInvites([
      { stateKey: "tok2", content: { display_name: "p***@m***.fr", key_validity_url: "x", public_key: "k" } },
      { stateKey: "tok1", content: { display_name: "j***@p***.fr" } },
      { stateKey: "tok3", content: {} },
    ]);
    expect(pending).toEqual([
      { token: "tok1", displayName: "j***@p***.fr" },
      { token: "tok2", displayName: "p***@m***.fr" },
    ]);
  });
});
