/**
 * The connection banner's state from the SDK's sync state and the browser's
 * online flag. The SDK itself retries with backoff; we only report.
 */
export type ConnectionState = "connecting" | "online" | "reconnecting" | "offline";

export function connectionState(syncState: string | null, browserOnline: boolean): ConnectionState {
  if (!browserOnline) return "offline";
  switch (syncState) {
    case "PREPARED":
    case "SYNCING":
    case "CATCHUP":
      return syncState === "CATCHUP" ? "reconnecting" : "online";
    case "RECONNECTING":
    case "ERROR":
      return "reconnecting";
    case "STOPPED":
      return "offline";
    default:
      return "connecting";
  }
}

/** "(3) Sceau" while there is something unread, else the brand alone. */
export function pageTitle(brand: string, unread: number, roomName: string | null = null): string {
  const base = roomName ? `${roomName} · ${brand}` : brand;
  return unread > 0 ? `(${unread}) ${base}` : base;
}
