/**
 * Received file messages (m.image, m.file, m.video, m.audio) to what the
 * timeline shows. In encrypted rooms the media is an EncryptedFile (`file`)
 * rather than a plain `url`; both are read through the authenticated media
 * endpoints (/_matrix/client/v1/media), since the legacy ones are switched off.
 */
import { parseMxc } from "./media";
import { safeFileName } from "./mediaUpload";

export interface EncryptedFileInfo {
  url: string;
  key: { kty: string; key_ops: string[]; alg: string; k: string; ext: boolean };
  iv: string;
  hashes: { sha256: string };
  v: string;
}

/** Where the bytes are, and how to decrypt them when the room is encrypted. */
export interface MediaSource {
  mxc: string;
  encrypted: EncryptedFileInfo | null;
}

export interface Attachment {
  kind: "image" | "video" | "audio" | "file";
  name: string;
  mimetype: string | null;
  size: number | null;
  width: number | null;
  height: number | null;
  source: MediaSource;
  thumbnail: MediaSource | null;
}

function obj(value: unknown): Record<string, unknown> | null {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/** An EncryptedFile per the spec (v2, A256CTR JWK, SHA-256 hash), or null when malformed. */
export function parseEncryptedFile(value: unknown): EncryptedFileInfo | null {
  const file = obj(value);
  const key = obj(file?.key);
  const hashes = obj(file?.hashes);
  if (!file || !key || !hashes) return null;
  if (typeof file.url !== "string" || !parseMxc(file.url)) return null;
  if (typeof file.iv !== "string" || typeof hashes.sha256 !== "string") return null;
  if (file.v !== "v2") return null;
  if (key.kty !== "oct" || key.alg !== "A256CTR" || typeof key.k !== "string") return null;
  const ops = Array.isArray(key.key_ops) ? key.key_ops.filter((o): o is string => typeof o === "string") : [];
  if (!ops.includes("decrypt")) return null;
  return {
    url: file.url,
    key: { kty: "oct", key_ops: ops, alg: "A256CTR", k: key.k, ext: true },
    iv: file.iv,
    hashes: { sha256: hashes.sha256 },
    v: "v2",
  };
}

function sourceOf(url: unknown, file: unknown): MediaSource | null {
  if (file !== undefined) {
    const encrypted = parseEncryptedFile(file);
    return encrypted ? { mxc: encrypted.url, encrypted } : null;
  }
  return typeof url === "string" && parseMxc(url) ? { mxc: url, encrypted: null } : null;
}

const KINDS: Record<string, Attachment["kind"]> = {
  "m.image": "image",
  "m.video": "video",
  "m.audio": "audio",
  "m.file": "file",
};

/** The attachment of a message, or null when the content is not a (valid) file message. */
export function attachmentOf(content: Record<string, unknown>, eventType = "m.room.message"): Attachment | null {
  const kind = eventType === "m.sticker" ? "image" : KINDS[String(content.msgtype)];
  if (!kind) return null;
  const source = sourceOf(content.url, content.file);
  if (!source) return null;
  const info = obj(content.info) ?? {};
  const thumbInfo = info.thumbnail_file !== undefined || info.thumbnail_url !== undefined;
  const fallbackName = kind === "image" ? "image" : "fichier";
  const name = safeFileName(
    typeof content.filename === "string" && content.filename ? content.filename : content.body,
    fallbackName,
  );
  return {
    kind,
    name,
    mimetype: typeof info.mimetype === "string" ? info.mimetype : null,
    size: num(info.size),
    width: num(info.w),
    height: num(info.h),
    source,
    thumbnail: thumbInfo ? sourceOf(info.thumbnail_url, info.thumbnail_file) : null,
  };
}

/** GET path of the full file, named so the browser saves it with its name. */
export function downloadPath(mxc: string, name?: string): string | null {
  const parts = parseMxc(mxc);
  if (!parts) return null;
  const base = `/_matrix/client/v1/media/download/${encodeURIComponent(parts.server)}/${encodeURIComponent(parts.mediaId)}`;
  return name ? `${base}/${encodeURIComponent(name)}` : base;
}

/** GET path of a server-side thumbnail (only for unencrypted media: the server cannot read the rest). */
export function scaledThumbnailPath(mxc: string, width: number, height: number): string | null {
  const parts = parseMxc(mxc);
  if (!parts) return null;
  return `/_matrix/client/v1/media/thumbnail/${encodeURIComponent(parts.server)}/${encodeURIComponent(parts.mediaId)}?width=${Math.round(width)}&height=${Math.round(height)}&method=scale`;
}

/** Size to display an image at, keeping its ratio within a box. */
export function fitWithin(
  width: number | null,
  height: number | null,
  maxWidth: number,
  maxHeight: number,
): { width: number; height: number } {
  if (!width || !height) return { width: maxWidth, height: Math.round(maxHeight / 2) };
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
