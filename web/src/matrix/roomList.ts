/**
 * Room-list view state: the summary of one room, and the pure functions that
 * sort rooms into sections. The SDK binding (roomListBinder.ts) fills the
 * summaries; these functions are what the tests drive.
 */
export type RoomSection = "invites" | "favourites" | "people" | "rooms" | "lowPriority";

export const SECTION_ORDER: readonly RoomSection[] = ["invites", "favourites", "people", "rooms", "lowPriority"];

export interface RoomSummary {
  roomId: string;
  name: string;
  avatarMxc: string | null;
  isDirect: boolean;
  isInvite: boolean;
  favourite: boolean;
  lowPriority: boolean;
  unread: number;
  highlight: number;
  /** Timestamp of the latest event, for ordering by activity. */
  lastActivity: number;
  lastMessage: string | null;
  encrypted: boolean;
  inviterName: string | null;
  /** The other member's user ID in a DM, for search by ID. */
  dmUserId: string | null;
  /** A DM with an external partner: the row shows the badge. */
  external?: boolean;
}

export function sectionOf(room: RoomSummary): RoomSection {
  if (room.isInvite) return "invites";
  if (room.favourite) return "favourites";
  if (room.lowPriority) return "lowPriority";
  if (room.isDirect) return "people";
  return "rooms";
}

/** Most recent activity first; ties keep a stable order by name. */
export function byActivity(a: RoomSummary, b: RoomSummary): number {
  return b.lastActivity - a.lastActivity || a.name.localeCompare(b.name) || a.roomId.localeCompare(b.roomId);
}

/** Lower-case, accents stripped: "Équipe" matches "equipe". */
export function normalise(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

export function matchesFilter(room: RoomSummary, filter: string): boolean {
  const needle = normalise(filter.trim());
  if (!needle) return true;
  return normalise(room.name).includes(needle) || (room.dmUserId !== null && normalise(room.dmUserId).includes(needle));
}

export interface Section {
  id: RoomSection;
  rooms: RoomSummary[];
}

/** The non-empty sections, in display order, each sorted by activity. */
export function buildSections(rooms: Iterable<RoomSummary>, filter = ""): Section[] {
  const groups = new Map<RoomSection, RoomSummary[]>();
  for (const room of rooms) {
    if (!matchesFilter(room, filter)) continue;
    const id = sectionOf(room);
    const list = groups.get(id);
    if (list) list.push(room);
    else groups.set(id, [room]);
  }
  return SECTION_ORDER.filter((id) => groups.has(id)).map((id) => ({ id, rooms: groups.get(id)!.sort(byActivity) }));
}

/** Flattened rows for the virtual list: a header per section, then its rooms. */
export type RoomListRow =
  | { kind: "header"; section: RoomSection; count: number; unread: number }
  | { kind: "room"; room: RoomSummary };

export function flattenSections(sections: Section[], collapsed: ReadonlySet<RoomSection> = new Set()): RoomListRow[] {
  const rows: RoomListRow[] = [];
  for (const section of sections) {
    const unread = section.rooms.reduce((n, r) => n + (r.unread > 0 || r.isInvite ? 1 : 0), 0);
    rows.push({ kind: "header", section: section.id, count: section.rooms.length, unread });
    if (!collapsed.has(section.id)) for (const room of section.rooms) rows.push({ kind: "room", room });
  }
  return rows;
}

/** The number shown in the page title: rooms with unread messages plus invites. */
export function unreadRoomCount(rooms: Iterable<RoomSummary>): number {
  let count = 0;
  for (const room of rooms) if (room.isInvite || room.unread > 0) count++;
  return count;
}
