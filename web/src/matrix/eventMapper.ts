/** One SDK event to the TimelineEvent the UI shows (or null when hidden). */
import {
  EventStatus,
  EventType,
  RelationType,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from "matrix-js-sdk";
import { callSummaryOf, mayEndCall } from "./callTimeline";
import type { ExternalLookup } from "./externals";
import { sanitizeHtml } from "./markdown";
import { sendStateOf, type EventKind, type Person, type Reaction, type TimelineEvent } from "./timeline";

const STATE_SHOWN = new Set<string>([
  EventType.RoomMember,
  EventType.RoomName,
  EventType.RoomTopic,
  EventType.RoomAvatar,
  EventType.RoomEncryption,
  EventType.RoomCreate,
]);

/** "@alice.martin:hs" -> "alice.martin": shown when someone has no display name. */
export function localpart(userId: string): string {
  const match = /^@([^:]+):/.exec(userId);
  return match ? match[1]! : userId;
}

/** A room named after a bare user ID (a DM with someone without a display name). */
export function friendlyName(name: string): string {
  return /^@[^:\s]+:\S+$/.test(name) ? localpart(name) : name;
}

/** A member as the UI shows them; with `isExternal`, marked when they are an external partner. */
export function personOf(room: Room, userId: string, isExternal?: ExternalLookup): Person {
  const member = room.getMember(userId);
  const name = member?.name;
  const person: Person = {
    userId,
    name: name && name !== userId ? name : localpart(userId),
    avatarMxc: member?.getMxcAvatarUrl() ?? null,
  };
  if (isExternal?.(userId)) person.external = true;
  return person;
}

/** Whether the event gets its own row in the timeline (a call's: given its room). */
export function isShown(event: MatrixEvent, room?: Room): boolean {
  const type = event.getType();
  if (mayEndCall(event)) return room !== undefined && callSummaryOf(room, event) !== null;
  if (event.isRelation(RelationType.Replace)) return false;
  if (type === EventType.Reaction || type === EventType.RoomRedaction) return false;
  if (event.isState()) return STATE_SHOWN.has(type);
  return type === EventType.RoomMessage || type === EventType.RoomMessageEncrypted || type === EventType.Sticker;
}

function kindOf(event: MatrixEvent): EventKind {
  if (event.isRedacted()) return "redacted";
  if (event.isDecryptionFailure() || event.getType() === EventType.RoomMessageEncrypted) return "undecryptable";
  const type = event.getType();
  if (mayEndCall(event)) return "call";
  if (type === EventType.RoomMember) return "membership";
  if (event.isState()) return "state";
  if (type === EventType.Sticker) return "image";
  switch (event.getContent().msgtype) {
    case "m.emote":
      return "emote";
    case "m.notice":
      return "notice";
    case "m.image":
      return "image";
    case "m.file":
    case "m.video":
    case "m.audio":
      return "file";
    case undefined:
      return "other";
    default:
      return "message";
  }
}

function snippet(event: MatrixEvent | null | undefined): string {
  if (!event) return "";
  const body = event.getContent().body;
  return typeof body === "string" ? body.slice(0, 200) : "";
}

function reactionsOf(client: MatrixClient, room: Room, event: MatrixEvent): Reaction[] {
  const id = event.getId();
  if (!id) return [];
  const timelineSet = event.getThread()?.timelineSet ?? room.getUnfilteredTimelineSet();
  const relations =
    timelineSet.relations.getChildEventsForEvent(id, RelationType.Annotation, EventType.Reaction) ??
    room.relations.getChildEventsForEvent(id, RelationType.Annotation, EventType.Reaction);
  if (!relations) return [];
  const me = client.getUserId();
  const out: Reaction[] = [];
  for (const [key, events] of relations.getSortedAnnotationsByKey() ?? []) {
    const live = [...events].filter((e) => !e.isRedacted());
    if (live.length === 0) continue;
    const mine = live.find((e) => e.getSender() === me);
    out.push({
      key,
      count: live.length,
      myEventId: mine?.getId() ?? null,
      senders: live.map((e) => personOf(room, e.getSender() ?? "").name),
    });
  }
  return out;
}

/** `isExternal` marks the senders who are external partners (and asks about unknown ones). */
export function toTimelineEvent(client: MatrixClient, room: Room, event: MatrixEvent, inThread: boolean, isExternal?: ExternalLookup): TimelineEvent {
  const me = client.getUserId();
  const content = event.getContent();
  const kind = kindOf(event);
  const id = event.getId() ?? event.getTxnId() ?? "";
  const html =
    kind !== "redacted" && content.format === "org.matrix.custom.html" && typeof content.formatted_body === "string"
      ? sanitizeHtml(content.formatted_body)
      : null;
  const replyId = event.replyEventId;
  const replyEvent = replyId ? room.findEventById(replyId) : undefined;
  const thread = !inThread && event.isThreadRoot ? event.getThread() : undefined;
  const readers = event.status === null || event.status === EventStatus.SENT ? room.getUsersReadUpTo(event) : [];
  return {
    id,
    eventId: event.getId()?.startsWith("$") ? event.getId()! : null,
    sender: personOf(room, event.getSender() ?? "", isExternal),
    ts: event.getTs(),
    kind,
    body: kind === "redacted" ? "" : typeof content.body === "string" ? content.body : "",
    html,
    edited: Boolean(event.replacingEventId()) && kind !== "redacted",
    replyTo:
      replyId && !(inThread && event.isRelation(RelationType.Thread) && content["m.relates_to"]?.is_falling_back)
        ? { eventId: replyId, senderName: replyEvent ? personOf(room, replyEvent.getSender() ?? "").name : "", body: snippet(replyEvent) }
        : null,
    reactions: kind === "redacted" ? [] : reactionsOf(client, room, event),
    thread: thread ? { count: thread.length, latestBody: snippet(thread.replyToEvent) || null } : null,
    sendState: sendStateOf(event.status),
    readBy: readers.filter((u) => u !== me && u !== event.getSender()).map((u) => personOf(room, u)),
    mentionsMe: Boolean(client.getPushActionsForEvent(event)?.tweaks?.highlight) && event.getSender() !== me,
    mine: event.getSender() === me,
    decryptionError: event.isDecryptionFailure() ? (event.decryptionFailureReason ?? "UNKNOWN_ERROR") : null,
    content: {
      ...content,
      type: event.getType(),
      state_key: event.getStateKey(),
      prev_content: event.getPrevContent(),
      ...(kind === "call" ? { call: callSummaryOf(room, event) } : {}),
    },
  };
}
