/**
 * Loading attachments for display or download: through the authenticated
 * media endpoints with the access token, decrypted in the browser (after
 * checking the SHA-256 of the ciphertext) when the room is encrypted.
 * Object URLs are cached and revoked when evicted.
 */
import { decryptAttachment } from "matrix-encrypt-attachment";
import { requireCleanEncrypted } from "./contentScan";
import { downloadPath, scaledThumbnailPath, type MediaSource } from "./mediaContent";

export interface MediaLoader {
  /** A blob URL for the media (decrypted), or throws when it cannot be read. */
  blobUrl(source: MediaSource, mimetype: string | null, thumbnail?: { width: number; height: number }): Promise<string>;
  /** The bytes as a Blob (for downloads). */
  blob(source: MediaSource, mimetype: string | null): Promise<Blob>;
}

const MAX_ENTRIES = 100;

/** The type a decrypted blob gets: only harmless types may render inline. */
export function safeBlobType(mimetype: string | null): string {
  const type = (mimetype ?? "").toLowerCase();
  return /^(image\/(png|jpeg|gif|webp|avif|bmp)|video\/(mp4|webm|ogg)|audio\/(mpeg|ogg|wav|webm|mp4|aac|flac))$/.test(type)
    ? type
    : "application/octet-stream";
}

async function sha256Base64(data: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "");
}

/** `scanEncrypted`: the server's content scanner must pass an encrypted file before it is decrypted. */
export function createMediaLoader(baseUrl: string, accessToken: string, options: { scanEncrypted?: boolean } = {}): MediaLoader {
  const cache = new Map<string, Promise<string>>();

  async function fetchBytes(path: string): Promise<{ data: ArrayBuffer; type: string | null }> {
    const response = await fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${accessToken}` } });
    if (!response.ok) throw new Error(`media ${response.status}`);
    return { data: await response.arrayBuffer(), type: response.headers.get("Content-Type") };
  }

  async function load(source: MediaSource, mimetype: string | null, thumb?: { width: number; height: number }): Promise<Blob> {
    const type = safeBlobType(mimetype);
    if (source.encrypted) {
      if (options.scanEncrypted) await requireCleanEncrypted(baseUrl, accessToken, source.encrypted);
      const { data } = await fetchBytes(downloadPath(source.mxc) ?? "");
      if ((await sha256Base64(data)) !== source.encrypted.hashes.sha256.replace(/=+$/, "")) {
        throw new Error("media hash mismatch");
      }
      return new Blob([await decryptAttachment(data, source.encrypted)], { type });
    }
    const path = thumb ? scaledThumbnailPath(source.mxc, thumb.width, thumb.height) : downloadPath(source.mxc);
    if (!path) throw new Error("bad mxc");
    const fetched = await fetchBytes(path);
    return new Blob([fetched.data], { type: thumb ? safeBlobType(fetched.type) : type });
  }

  return {
    blob: (source, mimetype) => load(source, mimetype),
    blobUrl(source, mimetype, thumbnail) {
      const key = `${source.mxc}|${thumbnail ? `${thumbnail.width}x${thumbnail.height}` : "full"}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const pending = load(source, mimetype, thumbnail).then((blob) => URL.createObjectURL(blob));
      pending.catch(() => cache.delete(key));
      cache.set(key, pending);
      if (cache.size > MAX_ENTRIES) {
        const [oldestKey, oldest] = cache.entries().next().value as [string, Promise<string>];
        cache.delete(oldestKey);
        void oldest.then((url) => URL.revokeObjectURL(url)).catch(() => undefined);
      }
      return pending;
    },
  };
}

/** Save a blob under its name (the browser's download). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
