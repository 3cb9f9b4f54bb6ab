import { describe, expect, it } from "vitest";
import { buildTimelineItems, dayKey, firstUnreadIndex, readMarkerIn, sendStateOf, type TimelineEvent } from "./timeline";

const NOON = new Date(2026, 11, 5, 12, 0, 0).getTime();
const MIN = 60_000;

function ev(id: string, sender: string, ts: number, over: Partial<TimelineEvent> = {}): TimelineEvent {
  return {
    id,
    eventId: id,
    sender: { userId: sender, name: sender, avatarMxc: null },
    ts,
    kind: "message",
    body: id,
    html: null,
    edited: false,
    replyTo: null,
    reactions: [],
    thread: null,
    sendState: "sent",
    readBy: [],
    mentionsMe: false,
    mine: false,
    decryptionError: null,
    content: {},
    ...over,
  };
}

function shape(items: ReturnType<typeof buildTimelineItems>): string[] {
  return items.map((i) =>
    i.type === "date"
      ? `date:${dayKey(i.ts)}`
      : i.type === "unread"
        ? "unread"
        : i.type === "stateGroup"
          ? `group(${i.events.map((e) => e.id).join(",")})`
          : `${i.key}${i.continuation ? "+" : ""}`,
  );
}

describe("timeline layout", () => {
  it("puts a date separator before the first message of each day", () => {
    const items = buildTimelineItems([ev("a", "@x", NOON), ev("b", "@x", NOON + 24 * 60 * MIN)]);
    expect(shape(items)).toEqual(["date:2026-12-05", "a", "date:2026-12-06", "b"]);
  });

  it("groups a sender's messages within five minutes, not across senders or gaps", () => {
    const items = buildTimelineItems([
      ev("a", "@x", NOON),
      ev("b", "@x", NOON + MIN),
      ev("c", "@y", NOON + 2 * MIN),
      ev("d", "@y", NOON + 10 * MIN),
      ev("e", "@y", NOON + 11 * MIN, { kind: "membership" }),
    ]);
    expect(shape(items)).toEqual(["date:2026-12-05", "a", "b+", "c", "d", "e"]);
  });

  it("marks the first unread message after the read receipt, skipping our own", () => {
    const items = buildTimelineItems(
      [
        ev("a", "@x", NOON),
        ev("b", "@me", NOON + MIN, { mine: true }),
        ev("j", "@y", NOON + MIN, { kind: "membership" }),
        ev("c", "@x", NOON + 2 * MIN),
      ],
      "a",
    );
    expect(shape(items)).toEqual(["date:2026-12-05", "a", "b", "j", "unread", "c"]);
    expect(firstUnreadIndex(items)).toBe(4);
    expect(firstUnreadIndex(buildTimelineItems([ev("a", "@x", NOON)], "a"))).toBe(-1);
  });
});

describe("state changes", () => {
  it("fold runs of three or more into one row, and leave shorter runs alone", () => {
    const m = { kind: "membership" as const };
    const items = buildTimelineItems([
      ev("create", "@x", NOON, { kind: "state" }),
      ev("join", "@x", NOON, m),
      ev("enc", "@x", NOON, { kind: "state" }),
      ev("hello", "@x", NOON + MIN),
      ev("j2", "@y", NOON + 2 * MIN, m),
      ev("reply", "@y", NOON + 3 * MIN),
    ]);
    expect(shape(items)).toEqual(["date:2026-12-05", "group(create,join,enc)", "hello", "j2", "reply"]);
  });
});

describe("local echo states", () => {
  it("maps the SDK's send status to sending, sent and failed", () => {
    expect(["queued", "encrypting", "sending"].map(sendStateOf)).toEqual(["sending", "sending", "sending"]);
    expect(sendStateOf(null)).toBe("sent");
    expect(sendStateOf("sent")).toBe("sent");
    expect(sendStateOf("not_sent")).toBe("failed");
  });
});

describe("readMarkerIn", () => {
  const rows = [
    { id: "$a", shown: true },
    { id: "$b", shown: true },
    { id: "$reaction", shown: false },
    { id: "$c", shown: true },
  ];

  it("follows the receipt's own event when it has a row", () => {
    expect(readMarkerIn(rows, "$b")).toEqual({ loaded: true, eventId: "$b" });
  });

  it("follows the last shown event when the receipt is on a reaction or another event without a row", () => {
    expect(readMarkerIn(rows, "$reaction")).toEqual({ loaded: true, eventId: "$b" });
  });

  it("says when the receipt's event is not loaded, or there is no receipt", () => {
    expect(readMarkerIn(rows, "$older")).toEqual({ loaded: false, eventId: null });
    expect(readMarkerIn(rows, null)).toEqual({ loaded: false, eventId: null });
  });

  it("puts the marker after a reaction before the next message from someone else", () => {
    const events = [ev("$a", "@bob:hs", NOON), ev("$b", "@bob:hs", NOON + MIN), ev("$c", "@bob:hs", NOON + 10 * MIN)];
    const items = buildTimelineItems(events, readMarkerIn(rows, "$reaction").eventId);
    expect(shape(items)).toContain("unread");
    expect(firstUnreadIndex(items)).toBe(items.findIndex((i) => i.key === "$c") - 1);
  });
});
