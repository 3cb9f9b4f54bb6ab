/**
 * Timeline view state: one message as the UI shows it, and the pure function
 * that lays messages out with date separators, sender grouping and the
 * "new messages" marker. The SDK binding (roomView.ts) fills the events.
 */
export type SendState = "sending" | "sent" | "failed";

export interface Reaction {
  key: string;
  count: number;
  /** Our own reaction event, to remove it on a second click. */
  myEventId: string | null;
  senders: string[];
}

export interface Person {
  userId: string;
  name: string;
  avatarMxc: string | null;
  /** An external partner (their profile's policy mark): shown with a badge. */
  external?: boolean;
}

export type EventKind = "message" | "emote" | "notice" | "image" | "file" | "membership" | "state" | "redacted" | "undecryptable" | "call" | "other";

export interface TimelineEvent {
  /** Event ID, or the transaction ID while a local echo has none. */
  id: string;
  eventId: string | null;
  sender: Person;
  ts: number;
  kind: EventKind;
  /** Plain text (or the description of a state change). */
  body: string;
  /** Sanitised HTML, when the message had some. */
  html: string | null;
  edited: boolean;
  replyTo: { eventId: string; senderName: string; body: string } | null;
  reactions: Reaction[];
  thread: { count: number; latestBody: string | null } | null;
  sendState: SendState;
  readBy: Person[];
  mentionsMe: boolean;
  mine: boolean;
  /** Why an encrypted message cannot be read yet (a decryption failure code). */
  decryptionError: string | null;
  /** Raw content for features that need more (files, calls...). */
  content: Record<string, unknown>;
}

export type TimelineItem =
  | { type: "date"; key: string; ts: number }
  | { type: "unread"; key: string }
  | { type: "event"; key: string; event: TimelineEvent; continuation: boolean }
  | { type: "stateGroup"; key: string; events: TimelineEvent[] };

/** Runs of at least this many state changes fold into one line. */
export const STATE_GROUP_MIN = 3;

function isStateChange(event: TimelineEvent): boolean {
  return event.kind === "membership" || event.kind === "state";
}

/** Fold runs of consecutive state-change rows into one expandable row. */
export function groupStateChanges(items: TimelineItem[]): TimelineItem[] {
  const out: TimelineItem[] = [];
  let run: Extract<TimelineItem, { type: "event" }>[] = [];
  const flush = () => {
    if (run.length >= STATE_GROUP_MIN) {
      out.push({ type: "stateGroup", key: `group-${run[0]!.key}`, events: run.map((r) => r.event) });
    } else {
      out.push(...run);
    }
    run = [];
  };
  for (const item of items) {
    if (item.type === "event" && isStateChange(item.event)) {
      run.push(item);
      continue;
    }
    flush();
    out.push(item);
  }
  flush();
  return out;
}

/** Local calendar day of a timestamp, e.g. "2026-12-06". */
export function dayKey(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

const GROUP_WINDOW_MS = 5 * 60 * 1000;
const GROUPABLE = new Set<EventKind>(["message", "emote", "notice", "image", "file", "undecryptable", "redacted"]);

/**
 * Events (oldest first) to rows: a date separator at each new day, the
 * unread marker before the first message from someone else after
 * `readUpToEventId` (state changes and our own messages do not count), and
 * `continuation` for a message by the same sender within five minutes.
 */
export function buildTimelineItems(events: readonly TimelineEvent[], readUpToEventId: string | null = null): TimelineItem[] {
  const items: TimelineItem[] = [];
  let previous: TimelineEvent | null = null;
  let lastDay = "";
  let markerPending = false;
  for (const event of events) {
    const day = dayKey(event.ts);
    let separated = false;
    if (day !== lastDay) {
      items.push({ type: "date", key: `date-${day}`, ts: event.ts });
      lastDay = day;
      separated = true;
    }
    if (markerPending && !event.mine && GROUPABLE.has(event.kind)) {
      items.push({ type: "unread", key: "unread-marker" });
      markerPending = false;
      separated = true;
    }
    const continuation =
      !separated &&
      previous !== null &&
      previous.sender.userId === event.sender.userId &&
      GROUPABLE.has(previous.kind) &&
      GROUPABLE.has(event.kind) &&
      event.ts - previous.ts < GROUP_WINDOW_MS;
    items.push({ type: "event", key: event.id, event, continuation });
    previous = event;
    if (readUpToEventId !== null && event.eventId === readUpToEventId) markerPending = true;
  }
  return groupStateChanges(items);
}

/** Where the "new messages" marker hangs, for the read receipt of when the room was opened. */
export interface ReadMarker {
  /** The receipt's event is in the loaded timeline (else "jump to first unread" offers to load it). */
  loaded: boolean;
  /** The shown event the marker follows (null: none, or not loaded). */
  eventId: string | null;
}

/**
 * Receipts often point at events that have no row (a reaction, an edit, a
 * hidden state change): the marker then follows the last shown event before
 * it. `raw` is the loaded timeline, oldest first, each event with whether it
 * got a row.
 */
export function readMarkerIn(raw: readonly { id: string | null; shown: boolean }[], readUpTo: string | null): ReadMarker {
  if (readUpTo === null) return { loaded: false, eventId: null };
  let lastShown: string | null = null;
  for (const { id, shown } of raw) {
    if (shown && id !== null) lastShown = id;
    if (id === readUpTo) return { loaded: true, eventId: lastShown };
  }
  return { loaded: false, eventId: null };
}

/** Index of the first unread row (the marker), or -1. */
export function firstUnreadIndex(items: readonly TimelineItem[]): number {
  return items.findIndex((i) => i.type === "unread");
}

/** The SDK's event status names to the three states the UI shows. */
export function sendStateOf(status: string | null | undefined): SendState {
  switch (status) {
    case null:
    case undefined:
    case "sent":
      return "sent";
    case "not_sent":
    case "cancelled":
      return "failed";
    default:
      return "sending"; // queued, encrypting, sending
  }
}
