/**
 * The content scanner (issue #11, `/_matrix/media_proxy/unstable`): an
 * encrypted attachment is scanned by the server (which decrypts it in memory
 * with the key we send) before this client decrypts or shows it.
 */
import type { EncryptedFileInfo } from "./mediaContent";

export type ScanVerdict = "clean" | "blocked" | "unavailable";

/** Thrown instead of decrypting a file the antivirus refused. */
export class MediaBlockedError extends Error {
  constructor(readonly info: string) {
    super(`media not clean: ${info}`);
    this.name = "MediaBlockedError";
  }
}

/** Thrown when the scanner could not give a verdict: the file is not shown either. */
export class ScanUnavailableError extends Error {
  constructor(readonly status: number) {
    super(`content scanner unavailable (${status})`);
    this.name = "ScanUnavailableError";
  }
}

/**
 * The verdict from scan_encrypted's answer. 200 `{clean}` says it; 403
 * MCS_MEDIA_NOT_CLEAN is the same refusal as an error. The scanner failing to
 * decrypt (MCS_BAD_DECRYPTION, MCS_MEDIA_FAILED_TO_DECRYPT) means the key
 * does not open the file: we go on, and our own hash check refuses it too.
 * Anything else (server down, MCS_MEDIA_REQUEST_FAILED) gives no verdict.
 */
export function scanVerdict(status: number, body: unknown): ScanVerdict {
  const obj = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  if (status === 200) return obj.clean === true ? "clean" : "blocked";
  if (obj.errcode === "MCS_MEDIA_NOT_CLEAN") return "blocked";
  if (obj.errcode === "MCS_BAD_DECRYPTION" || obj.errcode === "MCS_MEDIA_FAILED_TO_DECRYPT") return "clean";
  return "unavailable";
}

/** POST scan_encrypted with the file's EncryptedFile; resolves when it may be decrypted. */
export async function requireCleanEncrypted(
  baseUrl: string,
  accessToken: string,
  file: EncryptedFileInfo,
  fetchFn: typeof fetch = fetch,
): Promise<void> {
  let status: number;
  let body: unknown;
  try {
    const response = await fetchFn(`${baseUrl}/_matrix/media_proxy/unstable/scan_encrypted`, {
      method: "POST",
      headers: { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ file }),
    });
    status = response.status;
    body = await response.json().catch(() => null);
  } catch {
    throw new ScanUnavailableError(0);
  }
  const verdict = scanVerdict(status, body);
  if (verdict === "blocked") {
    const info = body && typeof body === "object" ? (body as Record<string, unknown>).info ?? (body as Record<string, unknown>).error : null;
    throw new MediaBlockedError(typeof info === "string" ? info : "");
  }
  if (verdict === "unavailable") throw new ScanUnavailableError(status);
}
