/**
 * mxc:// URIs to blob URLs through the authenticated media endpoints
 * (/_matrix/client/v1/media), which need the access token in a header, so
 * a plain <img src> cannot load them. Bounded cache; old URLs are revoked.
 */
export type MediaResolver = (mxc: string, size: number) => Promise<string | null>;

const MAX_ENTRIES = 400;

export function parseMxc(mxc: string): { server: string; mediaId: string } | null {
  const match = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
  return match ? { server: match[1]!, mediaId: match[2]! } : null;
}

export function thumbnailPath(mxc: string, size: number): string | null {
  const parts = parseMxc(mxc);
  if (!parts) return null;
  const px = Math.max(32, Math.round(size * (globalThis.devicePixelRatio ?? 1)));
  return `/_matrix/client/v1/media/thumbnail/${encodeURIComponent(parts.server)}/${encodeURIComponent(parts.mediaId)}?width=${px}&height=${px}&method=crop`;
}

export function createMediaResolver(baseUrl: string, accessToken: string): MediaResolver {
  const cache = new Map<string, Promise<string | null>>();
  return (mxc, size) => {
    const path = thumbnailPath(mxc, size);
    if (!path) return Promise.resolve(null);
    const hit = cache.get(path);
    if (hit) {
      cache.delete(path);
      cache.set(path, hit); // most recently used last
      return hit;
    }
    const pending = fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${accessToken}` } })
      .then(async (r) => (r.ok ? URL.createObjectURL(await r.blob()) : null))
      .catch(() => null);
    cache.set(path, pending);
    if (cache.size > MAX_ENTRIES) {
      const [oldestKey, oldest] = cache.entries().next().value as [string, Promise<string | null>];
      cache.delete(oldestKey);
      void oldest.then((url) => url && URL.revokeObjectURL(url));
    }
    return pending;
  };
}
