import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { clearCredentials, loadCredentials, saveCredentials } from "./credentials";

describe("stored credentials", () => {
  it("survive a round trip through IndexedDB and are gone after logout", async () => {
    expect(await loadCredentials()).toBeNull();
    const creds = { baseUrl: "http://hs", userId: "@a:hs", deviceId: "DEV", accessToken: "tok" };
    await saveCredentials(creds);
    expect(await loadCredentials()).toEqual(creds);
    await clearCredentials();
    expect(await loadCredentials()).toBeNull();
  });
});
