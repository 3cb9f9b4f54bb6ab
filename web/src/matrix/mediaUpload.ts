/**
 * Upload rules that need no SDK: the size limit checked before any byte is
 * sent, the message type a file becomes, the progress of each upload, and
 * what a refused upload means to the user (the antivirus is not "an error").
 */

/** Why an upload did not go through; each has its own sentence in i18n. */
export type UploadErrorKind =
  | "too_large"
  | "antivirus"
  | "scan_unavailable"
  | "forbidden"
  | "network"
  | "cancelled"
  | "unknown";

export type UploadPhase = "encrypting" | "uploading" | "sending" | "done" | "failed";

export interface UploadItem {
  id: string;
  roomId: string;
  name: string;
  size: number;
  loaded: number;
  phase: UploadPhase;
  error: UploadErrorKind | null;
  /** The limit in bytes, when the error is too_large. */
  limit: number | null;
}

/** `m.upload.size` from GET /_matrix/client/v1/media/config, or null when unknown. */
export function parseUploadLimit(json: unknown): number | null {
  if (!json || typeof json !== "object") return null;
  const size = (json as Record<string, unknown>)["m.upload.size"];
  return typeof size === "number" && Number.isFinite(size) && size > 0 ? size : null;
}

/** The strictest of the limits we know (server's media config, /config.json). */
export function effectiveUploadLimit(...limits: (number | null | undefined)[]): number | null {
  const known = limits.filter((l): l is number => typeof l === "number" && l > 0);
  return known.length ? Math.min(...known) : null;
}

/**
 * Whether a file of `size` bytes may be uploaded. An encrypted file is the same
 * size as its plaintext (AES-CTR), so the plaintext size is the one to check.
 */
export function checkUploadSize(size: number, limit: number | null): { ok: true } | { ok: false; limit: number } {
  if (limit !== null && size > limit) return { ok: false, limit };
  return { ok: true };
}

/** What the server's refusal means. The antivirus answers 403 M_FORBIDDEN "…antivirus…". */
export function classifyUploadError(error: {
  status?: number | null;
  errcode?: string | null;
  message?: string | null;
  aborted?: boolean;
}): UploadErrorKind {
  if (error.aborted) return "cancelled";
  const message = (error.message ?? "").toLowerCase();
  if (error.errcode === "M_TOO_LARGE" || error.status === 413) return "too_large";
  if (error.errcode === "M_FORBIDDEN" || error.status === 403) {
    return message.includes("antivirus") || message.includes("virus") ? "antivirus" : "forbidden";
  }
  if (error.status === 503 && message.includes("antivirus")) return "scan_unavailable";
  if (error.status === 0 || error.status === undefined || error.status === null) {
    return error.errcode ? "unknown" : "network";
  }
  return "unknown";
}

export type FileMsgtype = "m.image" | "m.video" | "m.audio" | "m.file";

/** Images the browser can show inline become m.image; SVG stays a file (scripts, no thumbnail). */
export function msgtypeFor(mimetype: string): FileMsgtype {
  const type = mimetype.toLowerCase();
  if (/^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(type)) return "m.image";
  if (type.startsWith("video/")) return "m.video";
  if (type.startsWith("audio/")) return "m.audio";
  return "m.file";
}

/** Percentage shown by the progress bar (0-100, whole numbers). */
export function uploadPercent(item: Pick<UploadItem, "loaded" | "size" | "phase">): number {
  if (item.phase === "done" || item.phase === "sending") return 100;
  if (item.phase === "encrypting" || item.size <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((item.loaded / item.size) * 100)));
}

export type UploadAction =
  | { type: "start"; id: string; roomId: string; name: string; size: number; encrypt: boolean }
  | { type: "progress"; id: string; loaded: number; total?: number }
  | { type: "sending"; id: string }
  | { type: "done"; id: string }
  | { type: "failed"; id: string; error: UploadErrorKind; limit?: number | null }
  | { type: "dismiss"; id: string };

/** Uploads in flight and those that failed (kept until dismissed); done ones leave the list. */
export function reduceUploads(items: readonly UploadItem[], action: UploadAction): UploadItem[] {
  const change = (patch: (item: UploadItem) => UploadItem) =>
    items.map((item) => (item.id === action.id ? patch(item) : item));
  switch (action.type) {
    case "start":
      return [
        ...items.filter((i) => i.id !== action.id),
        {
          id: action.id,
          roomId: action.roomId,
          name: action.name,
          size: action.size,
          loaded: 0,
          phase: action.encrypt ? "encrypting" : "uploading",
          error: null,
          limit: null,
        },
      ];
    case "progress":
      return change((item) =>
        item.phase === "failed" || item.phase === "done"
          ? item
          : {
              ...item,
              phase: "uploading",
              size: action.total && action.total > 0 ? action.total : item.size,
              loaded: Math.max(item.loaded, action.loaded),
            },
      );
    case "sending":
      return change((item) => (item.phase === "failed" ? item : { ...item, phase: "sending", loaded: item.size }));
    case "done":
      return items.filter((item) => item.id !== action.id);
    case "failed":
      return change((item) => ({ ...item, phase: "failed", error: action.error, limit: action.limit ?? null }));
    case "dismiss":
      return items.filter((item) => item.id !== action.id);
  }
}

/** A file name safe to offer for download (no path, no control characters). */
export function safeFileName(name: unknown, fallback: string): string {
  if (typeof name !== "string") return fallback;
  // eslint-disable-next-line no-control-regex
  const base = name.split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return base === "" || base === "." || base === ".." ? fallback : base.slice(0, 255);
}

/** "1,5 Mo" / "1.5 MB": sizes in the user's language (Intl knows the units). */
export function formatBytes(bytes: number, locale: string): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(locale, {
    style: "unit",
    unit: units[unit],
    unitDisplay: "short",
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}
