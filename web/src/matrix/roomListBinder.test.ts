// @vitest-environment jsdom
import { createClient, Direction, EventType, MatrixEvent, Room } from "matrix-js-sdk";
import { describe, expect, it } from "vitest";
import { toTimelineEvent } from "./eventMapper";
import { summarise } from "./roomListBinder";

const ME = "@alice:hs";
const BOB = "@bob:hs";
let counter = 0;

function event(type: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}): MatrixEvent {
  counter += 1;
  return new MatrixEvent({
    type,
    content,
    sender: BOB,
    event_id: `$e${counter}`,
    origin_server_ts: 1_700_000_000_000 + counter * 1000,
    room_id: "!r:hs",
    ...extra,
  });
}

function member(userId: string, membership: string, extra: Record<string, unknown> = {}): MatrixEvent {
  return event(EventType.RoomMember, { membership, displayname: userId === ME ? "Alice" : "Bob Durand", ...extra }, { state_key: userId, sender: extra.sender ?? userId });
}

/** A real SDK Room, fed events the way sync does, with no server. */
function room(events: MatrixEvent[], state: MatrixEvent[]) {
  const client = createClient({ baseUrl: "http://hs.invalid", userId: ME, deviceId: "DEV" });
  const r = new Room("!r:hs", client, ME);
  r.currentState.setStateEvents(state);
  r.getLiveTimeline().getState(Direction.Forward)?.setStateEvents(state);
  void r.addLiveEvents(events, { addToState: false });
  const mine = state.find((e) => e.getStateKey() === ME);
  if (mine) r.updateMyMembership(mine.getContent().membership as string);
  r.recalculate();
  return { client, room: r };
}

describe("room summary from SDK rooms", () => {
  it("names a DM after the other person and sorts it into people via m.direct", () => {
    const { client, room: r } = room(
      [event(EventType.RoomMessage, { msgtype: "m.text", body: "Bonjour Alice" })],
      [member(ME, "join"), member(BOB, "join")],
    );
    const summary = summarise(client, r, new Map([["!r:hs", BOB]]))!;
    expect(summary).toMatchObject({ isDirect: true, dmUserId: BOB, isInvite: false, lastMessage: "Bonjour Alice" });
    expect(summary.name).toBe("Bob Durand");
  });

  it("marks a DM with an external partner, and no other room", () => {
    const { client, room: r } = room([], [member(ME, "join"), member(BOB, "join")]);
    const bobIsExternal = (userId: string) => userId === BOB;
    expect(summarise(client, r, new Map([["!r:hs", BOB]]), bobIsExternal)?.external).toBe(true);
    expect(summarise(client, r, new Map(), bobIsExternal)?.external).toBeUndefined();
    expect(summarise(client, r, new Map([["!r:hs", BOB]]), () => false)?.external).toBeUndefined();
  });

  it("reads favourite and low-priority tags and skips rooms we left", () => {
    const { client, room: r } = room([], [member(ME, "join")]);
    r.tags = { "m.favourite": { order: 0.5 } };
    expect(summarise(client, r, new Map())).toMatchObject({ favourite: true, lowPriority: false, isDirect: false });
    const left = room([], [member(ME, "leave")]);
    expect(summarise(left.client, left.room, new Map())).toBeNull();
  });

  it("treats an is_direct invite as a DM invite from the inviter", () => {
    const { client, room: r } = room([], [member(ME, "invite", { is_direct: true, sender: BOB }), member(BOB, "join")]);
    const summary = summarise(client, r, new Map())!;
    expect(summary).toMatchObject({ isInvite: true, isDirect: true, dmUserId: BOB, inviterName: "Bob Durand" });
  });
});

describe("timeline events from SDK events", () => {
  it("keeps the sender's display name, body and sanitised HTML", () => {
    const msg = event(EventType.RoomMessage, {
      msgtype: "m.text",
      body: "gras",
      format: "org.matrix.custom.html",
      formatted_body: "<b>gras</b><script>x()</script>",
    });
    const { client, room: r } = room([msg], [member(ME, "join"), member(BOB, "join")]);
    const mapped = toTimelineEvent(client, r, msg, false);
    expect(mapped).toMatchObject({ kind: "message", body: "gras", mine: false, sendState: "sent", edited: false });
    expect(mapped.sender.name).toBe("Bob Durand");
    expect(mapped.html).toBe("<b>gras</b>");
  });

  it("shows a redacted message as deleted, without its text or reactions", () => {
    const gone = event(EventType.RoomMessage, {}, { unsigned: { redacted_because: { type: "m.room.redaction", sender: BOB, content: {} } } });
    const { client, room: r } = room([gone], [member(ME, "join"), member(BOB, "join")]);
    expect(toTimelineEvent(client, r, gone, false)).toMatchObject({ kind: "redacted", body: "", reactions: [], edited: false });
  });

  it("marks an event whose send failed, and one still sending", () => {
    const { client, room: r } = room([], [member(ME, "join")]);
    const local = event(EventType.RoomMessage, { msgtype: "m.text", body: "hors ligne" }, { sender: ME });
    local.setStatus("not_sent" as never);
    expect(toTimelineEvent(client, r, local, false)).toMatchObject({ sendState: "failed", mine: true });
    local.setStatus("sending" as never);
    expect(toTimelineEvent(client, r, local, false).sendState).toBe("sending");
  });
});
