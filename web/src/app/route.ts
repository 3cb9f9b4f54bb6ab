/** The URL hash names the open room (and thread): "#/room/!id:hs/thread/$ev". */
export interface Route {
  roomId: string | null;
  threadId: string | null;
}

export function parseRoute(hash: string): Route {
  const match = /^#\/room\/([^/]+)(?:\/thread\/([^/]+))?$/.exec(hash);
  if (!match) return { roomId: null, threadId: null };
  try {
    return { roomId: decodeURIComponent(match[1]!), threadId: match[2] ? decodeURIComponent(match[2]) : null };
  } catch {
    return { roomId: null, threadId: null };
  }
}

export function formatRoute(route: Route): string {
  if (!route.roomId) return "#/";
  const room = `#/room/${encodeURIComponent(route.roomId)}`;
  return route.threadId ? `${room}/thread/${encodeURIComponent(route.threadId)}` : room;
}
