import { useMediaUrl } from "./media";

/** Initials on a colour derived from the ID, or the picture once loaded. */
export function initials(name: string): string {
  // For a bare user ID or alias, only the localpart counts: "@alice:hs" -> "A".
  const clean = name.replace(/^[@#!+]([^:]*):.*$/, "$1").replace(/^[@#!+]/, "").trim();
  const words = clean.split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? "?")].slice(0, 1);
  return letters.join("").toUpperCase();
}

export function colourIndex(id: string): number {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return hash % 8;
}

interface Props {
  id: string;
  name: string;
  mxc: string | null;
  size?: number;
}

export function Avatar({ id, name, mxc, size = 36 }: Props) {
  const url = useMediaUrl(mxc, size);
  const style = { width: size, height: size, fontSize: Math.round(size * 0.42) };
  if (url) return <img className="avatar" src={url} alt="" style={style} />;
  return (
    // Initials drawn by CSS (::before), so they are not part of any text or name.
    <span className={`avatar avatar-c${colourIndex(id)}`} style={style} data-initials={initials(name)} aria-hidden="true" />
  );
}
