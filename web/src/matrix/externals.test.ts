import { describe, expect, it } from "vitest";
import { ExternalUsers, isExternalProfile, serverOf } from "./externals";

const ME = "@alice:agents.example";
const JEANNE = "@jeanne:partenaires.example";
const PAUL = "@paul:partenaires.example";

/** A profile endpoint whose answers the test releases one by one. */
function fakeServer(profiles: Record<string, unknown>) {
  const asked: string[] = [];
  const waiting: (() => void)[] = [];
  const fetchProfile = (userId: string) => {
    asked.push(userId);
    return new Promise<unknown>((resolve, reject) => {
      waiting.push(() => {
        const found = profiles[userId];
        if (found instanceof Error) reject(found);
        else if (found === undefined) reject(Object.assign(new Error("not found"), { httpStatus: 404 }));
        else resolve(found);
      });
    });
  };
  const answerAll = async () => {
    while (waiting.length > 0) {
      waiting.shift()!();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { asked, fetchProfile, answerAll };
}

describe("isExternalProfile", () => {
  it("reads the policy mark of a profile or a directory entry", () => {
    expect(isExternalProfile({ displayname: "Jeanne", policy: { external: true } })).toBe(true);
    expect(isExternalProfile({ displayname: "Alice" })).toBe(false);
    expect(isExternalProfile({ policy: { external: "yes" } })).toBe(false);
    expect(isExternalProfile({ policy: null })).toBe(false);
    expect(isExternalProfile(null)).toBe(false);
  });

  it("takes the server name after the first colon", () => {
    expect(serverOf("@jeanne:partenaires.example:8448")).toBe("partenaires.example:8448");
    expect(serverOf("nobody")).toBe("");
  });
});

describe("ExternalUsers", () => {
  it("asks each user's profile once, however often they are shown, and says so once answered", async () => {
    const server = fakeServer({ [JEANNE]: { displayname: "Jeanne", policy: { external: true } } });
    const externals = new ExternalUsers(server.fetchProfile, ME);
    expect(externals.lookup(JEANNE)).toBe(false);
    expect(externals.lookup(JEANNE)).toBe(false);
    await server.answerAll();
    expect(externals.lookup(JEANNE)).toBe(true);
    expect(server.asked).toEqual([JEANNE]);
    expect(externals.changes.get()).toBe(1);
  });

  it("answers for the people of our own homeserver with our own profile", async () => {
    const server = fakeServer({ [ME]: { displayname: "Alice" } });
    const externals = new ExternalUsers(server.fetchProfile, ME);
    for (const colleague of ["@bob:agents.example", "@carol:agents.example", ME]) externals.lookup(colleague);
    await server.answerAll();
    expect(server.asked).toEqual([ME]);
    expect(externals.lookup("@bob:agents.example")).toBe(false);
  });

  it("keeps a few requests in flight at a time", async () => {
    const server = fakeServer({});
    const externals = new ExternalUsers(server.fetchProfile, ME, { concurrent: 2, entries: 100 });
    for (let i = 0; i < 5; i++) externals.lookup(`@p${i}:partenaires.example`);
    expect(server.asked).toHaveLength(2);
    await server.answerAll();
    expect(server.asked).toHaveLength(5);
  });

  it("takes a refusal as an agent, and asks again after a network failure", async () => {
    const server = fakeServer({ [PAUL]: new TypeError("Failed to fetch") });
    const externals = new ExternalUsers(server.fetchProfile, ME);
    externals.lookup(JEANNE);
    externals.lookup(PAUL);
    await server.answerAll();
    externals.lookup(JEANNE);
    externals.lookup(PAUL);
    await server.answerAll();
    expect(server.asked).toEqual([JEANNE, PAUL, PAUL]);
  });

  it("learns from directory entries without asking, and forgets the oldest past its bound", async () => {
    const server = fakeServer({});
    const externals = new ExternalUsers(server.fetchProfile, ME, { concurrent: 4, entries: 2 });
    externals.learn(JEANNE, true);
    expect(externals.lookup(JEANNE)).toBe(true);
    expect(externals.changes.get()).toBe(1);
    externals.learn("@a:other.example", false);
    externals.learn("@b:other.example", false);
    expect(externals.lookup(JEANNE)).toBe(false);
    expect(server.asked).toEqual([JEANNE]);
  });
});
