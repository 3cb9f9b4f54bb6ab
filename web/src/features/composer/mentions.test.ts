import { describe, expect, it } from "vitest";
import { insertMention, matchMembers, mentionQuery } from "./mentions";

describe("composer mentions", () => {
  it("finds the @query before the caret", () => {
    expect(mentionQuery("Bonjour @al", 11)).toEqual({ start: 8, query: "al" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("mail a@b", 8)).toBeNull();
    expect(mentionQuery("Bonjour", 7)).toBeNull();
  });
  it("matches members by name or ID, ignoring accents", () => {
    const members = [
      { userId: "@helene:hs", name: "Hélène Dupont", avatarMxc: null },
      { userId: "@bob:hs", name: "Bob", avatarMxc: null },
    ];
    expect(matchMembers(members, "hel").map((m) => m.userId)).toEqual(["@helene:hs"]);
    expect(matchMembers(members, "bob").map((m) => m.name)).toEqual(["Bob"]);
  });
  it("replaces the query with the name", () => {
    expect(insertMention("Salut @he merci", 6, 9, "Hélène Dupont")).toEqual({ text: "Salut Hélène Dupont  merci", caret: 20 });
  });
});
