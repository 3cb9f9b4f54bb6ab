import { createContext, useContext, useEffect, useState } from "react";

export type ResolveMedia = (mxc: string, size: number) => Promise<string | null>;

/** How components turn mxc:// URIs into image URLs (set by the logged-in app). */
export const MediaContext = createContext<ResolveMedia>(() => Promise.resolve(null));

export function useMediaUrl(mxc: string | null, size: number): string | null {
  const resolve = useContext(MediaContext);
  const [resolved, setResolved] = useState<{ mxc: string; url: string | null } | null>(null);
  useEffect(() => {
    if (!mxc) return;
    let live = true;
    void resolve(mxc, size).then((url) => {
      if (live) setResolved({ mxc, url });
    });
    return () => {
      live = false;
    };
  }, [mxc, size, resolve]);
  return mxc && resolved?.mxc === mxc ? resolved.url : null;
}
