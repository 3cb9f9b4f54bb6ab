import type { MatrixClient } from "matrix-js-sdk";
import { describe, expect, it } from "vitest";
import { changePassword, passwordAuth } from "./passwordChange";

function fakeClient(answers: (unknown | null)[]) {
  const calls: { auth: Record<string, unknown>; password: string; logout: boolean | undefined }[] = [];
  const client = {
    getSafeUserId: () => "@alice:hs",
    async setPassword(auth: Record<string, unknown>, password: string, logout?: boolean) {
      calls.push({ auth, password, logout });
      const answer = answers.shift();
      if (answer) throw answer;
      return {};
    },
  };
  return { client: client as unknown as MatrixClient, calls };
}

describe("password change", () => {
  it("proves the current password and keeps the other sessions", async () => {
    const { client, calls } = fakeClient([null]);
    await changePassword(client, "old-Pass-1", "New-Pass-2!");
    expect(calls).toEqual([
      { auth: passwordAuth("@alice:hs", "old-Pass-1"), password: "New-Pass-2!", logout: false },
    ]);
    expect(calls[0]!.auth).toEqual({ type: "m.login.password", identifier: { type: "m.id.user", user: "@alice:hs" }, password: "old-Pass-1" });
  });

  it("retries once inside the UIA session the server opened", async () => {
    const uia = { httpStatus: 401, data: { session: "S1", flows: [{ stages: ["m.login.password"] }] } };
    const { client, calls } = fakeClient([uia, null]);
    await changePassword(client, "old", "New-Pass-2!");
    expect(calls).toHaveLength(2);
    expect(calls[1]!.auth.session).toBe("S1");
  });

  it("passes a weak-password refusal on untouched", async () => {
    const weak = { httpStatus: 400, errcode: "M_PASSWORD_NO_DIGIT", data: { errcode: "M_PASSWORD_NO_DIGIT" } };
    const { client, calls } = fakeClient([weak]);
    await expect(changePassword(client, "old", "NoDigits!")).rejects.toBe(weak);
    expect(calls).toHaveLength(1);
  });
});
