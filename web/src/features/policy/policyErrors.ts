/**
 * Server refusals of the state's rules (issue #11) in words: room access
 * rules carry `{"errcode": "M_FORBIDDEN", "policy": CODE, "error": "fr / en"}`,
 * weak passwords one of the M_PASSWORD_* errcodes.
 */
import i18next, { type TFunction } from "i18next";

/** Every code the server sends (sceau/services/policy/*.py), each with a message in the catalogues. */
export const POLICY_CODES = [
  "DIRECT_ROOM_FULL",
  "DIRECT_ROOM_NOT_PUBLIC",
  "DIRECT_ROOM_PROFILE",
  "EXTERNAL_CANNOT_CREATE",
  "EXTERNAL_DM_NOT_INVITED",
  "EXTERNAL_NEEDS_INVITE",
  "EXTERNAL_NOT_ALLOWED",
  "EXTERNAL_POWER",
  "FORUM_NOT_ENCRYPTED",
  "FORUM_RESTRICTED_ONLY",
  "FORUM_STAYS_PUBLIC",
  "INVALID_RULE",
  "INVITE_RULE",
  "POWER_LEVELS_LOWERED",
  "PUBLISH_RESTRICTED_ONLY",
  "RULE_CHANGE_FORBIDDEN",
  "RULE_CHANGE_WHILE_PUBLISHED",
] as const;

export const PASSWORD_ERRCODES = [
  "M_PASSWORD_TOO_SHORT",
  "M_PASSWORD_NO_DIGIT",
  "M_PASSWORD_NO_SYMBOL",
  "M_PASSWORD_NO_UPPERCASE",
  "M_PASSWORD_NO_LOWERCASE",
] as const;

interface ErrorShape {
  errcode?: unknown;
  data?: unknown;
  body?: unknown;
  message?: unknown;
}

/** The JSON body of an error, from the SDK's MatrixError (`data`) or our MatrixHttpError (`body`). */
function bodyOf(error: unknown): Record<string, unknown> {
  if (!error || typeof error !== "object") return {};
  const e = error as ErrorShape;
  const body = e.data ?? e.body;
  return body && typeof body === "object" ? (body as Record<string, unknown>) : {};
}

/** The catalogue key for a policy or password refusal, or null when the error is something else. */
export function policyMessageKey(error: unknown): string | null {
  const body = bodyOf(error);
  const errcode = (error as ErrorShape | null)?.errcode ?? body.errcode;
  if (typeof body.policy === "string" && (POLICY_CODES as readonly string[]).includes(body.policy)) {
    return `policy.refusals.${body.policy}`;
  }
  if (typeof errcode === "string" && (PASSWORD_ERRCODES as readonly string[]).includes(errcode)) {
    return `policy.password.${errcode}`;
  }
  return null;
}

/**
 * The server's "français / English" message, in the reader's language: for a
 * policy code this client does not know yet.
 */
export function serverSentence(message: string, language: string): string {
  const parts = message.split(" / ");
  if (parts.length !== 2) return message;
  return language.startsWith("en") ? parts[1]!.trim() : parts[0]!.trim();
}

/** A refusal as a sentence: the policy's own message when there is one, else the server's words. */
export function explainError(t: TFunction, error: unknown, language: string = i18next.language ?? "fr"): string {
  const key = policyMessageKey(error);
  if (key) return t(key);
  const body = bodyOf(error);
  const raw = typeof body.error === "string" ? body.error : error instanceof Error ? error.message : String(error);
  return typeof body.policy === "string" ? serverSentence(raw, language) : raw;
}

/** The catalogue key when the content scanner refused a file (or could not check it), else null. */
export function scanRefusalKey(error: unknown): string | null {
  const name = error instanceof Error ? error.name : "";
  if (name === "MediaBlockedError") return "policy.scan.blocked";
  if (name === "ScanUnavailableError") return "policy.scan.unavailable";
  return null;
}
