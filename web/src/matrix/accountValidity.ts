/**
 * Account validity (issue #11): an expired account gets 403
 * ORG_MATRIX_EXPIRED_ACCOUNT on every request but logout and the renewal
 * mail. The SDK has no event for it, so its fetch is watched.
 */
import { request } from "./http";

export const EXPIRED_ERRCODE = "ORG_MATRIX_EXPIRED_ACCOUNT";

/** Whether a response body (status and JSON) says the account has expired. */
export function isExpiredResponse(status: number, body: unknown): boolean {
  return status === 403 && !!body && typeof body === "object" && (body as { errcode?: unknown }).errcode === EXPIRED_ERRCODE;
}

/** Whether any error (the SDK's MatrixError, our MatrixHttpError) is the expired account. */
export function isExpiredError(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const e = error as { errcode?: unknown; httpStatus?: unknown; status?: unknown };
  return e.errcode === EXPIRED_ERRCODE && (e.httpStatus ?? e.status ?? 403) === 403;
}

/**
 * A fetch that calls `onExpired` the first time a response says the account
 * expired; the response itself goes on unchanged to the SDK.
 */
export function watchExpiry(inner: typeof fetch, onExpired: () => void): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    if (response.status === 403 && (response.headers.get("Content-Type") ?? "").includes("json")) {
      try {
        if (isExpiredResponse(403, await response.clone().json())) onExpired();
      } catch {
        // not JSON after all: not ours to judge
      }
    }
    return response;
  };
}

/** POST /_matrix/client/unstable/account_validity/send_mail: works with the expired token. */
export async function sendRenewalMail(baseUrl: string, accessToken: string): Promise<void> {
  await request(baseUrl, "POST", "/_matrix/client/unstable/account_validity/send_mail", {}, accessToken);
}
