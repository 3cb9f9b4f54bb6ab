import { describe, expect, it } from "vitest";
import { buildSections, flattenSections, sectionOf, unreadRoomCount, type RoomSummary } from "./roomList";

function room(id: string, over: Partial<RoomSummary> = {}): RoomSummary {
  return {
    roomId: `!${id}:hs`,
    name: id,
    avatarMxc: null,
    isDirect: false,
    isInvite: false,
    favourite: false,
    lowPriority: false,
    unread: 0,
    highlight: 0,
    lastActivity: 0,
    lastMessage: null,
    encrypted: true,
    inviterName: null,
    dmUserId: null,
    ...over,
  };
}

describe("room list sections", () => {
  it("puts invites first, then favourites, people, rooms and low priority", () => {
    const rooms = [
      room("low", { lowPriority: true, lastActivity: 9 }),
      room("dm", { isDirect: true }),
      room("fav", { favourite: true, isDirect: true }),
      room("inv", { isInvite: true, favourite: true }),
      room("plain"),
    ];
    expect(buildSections(rooms).map((s) => [s.id, s.rooms.map((r) => r.name)])).toEqual([
      ["invites", ["inv"]],
      ["favourites", ["fav"]],
      ["people", ["dm"]],
      ["rooms", ["plain"]],
      ["lowPriority", ["low"]],
    ]);
    expect(sectionOf(room("x", { favourite: true, lowPriority: true }))).toBe("favourites");
  });

  it("sorts each section by latest activity, most recent first", () => {
    const rooms = [room("old", { lastActivity: 100 }), room("new", { lastActivity: 300 }), room("mid", { lastActivity: 200 })];
    expect(buildSections(rooms)[0]!.rooms.map((r) => r.name)).toEqual(["new", "mid", "old"]);
  });

  it("filters by name ignoring case and accents, and DMs by user ID", () => {
    const rooms = [room("Équipe projet"), room("Direction"), room("Bob", { isDirect: true, dmUserId: "@bob.martin:hs" })];
    expect(buildSections(rooms, "EQUIPE").flatMap((s) => s.rooms.map((r) => r.name))).toEqual(["Équipe projet"]);
    expect(buildSections(rooms, "martin").flatMap((s) => s.rooms.map((r) => r.name))).toEqual(["Bob"]);
    expect(buildSections(rooms, "zzz")).toEqual([]);
  });

  it("flattens into header and room rows, skipping collapsed sections' rooms", () => {
    const sections = buildSections([room("a", { unread: 2 }), room("b"), room("c", { isDirect: true })]);
    const rows = flattenSections(sections, new Set(["people"]));
    expect(rows.map((r) => (r.kind === "header" ? `#${r.section}:${r.count}:${r.unread}` : r.room.name))).toEqual([
      "#people:1:0",
      "#rooms:2:1",
      "a",
      "b",
    ]);
  });

  it("handles 1,000 rooms in one pass and counts unread rooms for the title", () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      room(`r${i}`, { lastActivity: i, unread: i % 10 === 0 ? 1 : 0, isDirect: i % 3 === 0 }),
    );
    const sections = buildSections(many);
    expect(sections.reduce((n, s) => n + s.rooms.length, 0)).toBe(1000);
    expect(sections[0]!.rooms[0]!.name).toBe("r999");
    expect(unreadRoomCount(many)).toBe(100);
  });
});
