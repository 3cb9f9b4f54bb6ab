import { describe, expect, it, vi } from "vitest";
import { isExpiredError, isExpiredResponse, watchExpiry } from "./accountValidity";
import { MatrixHttpError } from "./http";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("expired accounts", () => {
  it("recognises the 403 ORG_MATRIX_EXPIRED_ACCOUNT answer only", () => {
    expect(isExpiredResponse(403, { errcode: "ORG_MATRIX_EXPIRED_ACCOUNT", error: "User account has expired" })).toBe(true);
    expect(isExpiredResponse(403, { errcode: "M_FORBIDDEN" })).toBe(false);
    expect(isExpiredResponse(401, { errcode: "ORG_MATRIX_EXPIRED_ACCOUNT" })).toBe(false);
    expect(isExpiredResponse(403, null)).toBe(false);
  });

  it("recognises the error from either HTTP layer", () => {
    expect(isExpiredError(new MatrixHttpError(403, "ORG_MATRIX_EXPIRED_ACCOUNT", "expired"))).toBe(true);
    expect(isExpiredError({ errcode: "ORG_MATRIX_EXPIRED_ACCOUNT", httpStatus: 403 })).toBe(true);
    expect(isExpiredError(new MatrixHttpError(403, "M_FORBIDDEN", "no"))).toBe(false);
    expect(isExpiredError(null)).toBe(false);
  });

  it("reports an expired answer to any request and passes the response on untouched", async () => {
    const onExpired = vi.fn();
    const inner = (async (url: string) =>
      url.includes("/sync")
        ? json(403, { errcode: "ORG_MATRIX_EXPIRED_ACCOUNT", error: "User account has expired" })
        : json(200, { ok: true })) as typeof fetch;
    const watched = watchExpiry(inner, onExpired);
    expect(await (await watched("https://hs.test/_matrix/client/v3/pushrules/")).json()).toEqual({ ok: true });
    expect(onExpired).not.toHaveBeenCalled();
    const response = await watched("https://hs.test/_matrix/client/v3/sync");
    expect(onExpired).toHaveBeenCalledTimes(1);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { errcode: string }).errcode).toBe("ORG_MATRIX_EXPIRED_ACCOUNT");
  });

  it("ignores other refusals", async () => {
    const onExpired = vi.fn();
    const watched = watchExpiry((async () => json(403, { errcode: "M_FORBIDDEN" })) as typeof fetch, onExpired);
    await watched("https://hs.test/x");
    expect(onExpired).not.toHaveBeenCalled();
  });
});
