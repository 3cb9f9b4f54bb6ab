/**
 * Keeps the room-list store up to date from SDK events. Only rooms that
 * changed are summarised again, in one batch per animation frame, so a
 * thousand rooms do not make every event cost a thousand summaries.
 */
import {
  ClientEvent,
  EventType,
  KnownMembership,
  MatrixEventEvent,
  NotificationCountType,
  RoomEvent,
  RoomStateEvent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from "matrix-js-sdk";
import { friendlyName, isShown } from "./eventMapper";
import type { ExternalLookup, ExternalUsers } from "./externals";
import type { RoomSummary } from "./roomList";
import { Store } from "./store";

export function directRoomMap(client: MatrixClient): Map<string, string> {
  const content = (client.getAccountData(EventType.Direct)?.getContent() ?? {}) as Record<string, unknown>;
  const map = new Map<string, string>();
  for (const [userId, rooms] of Object.entries(content)) {
    if (Array.isArray(rooms)) for (const roomId of rooms) if (typeof roomId === "string") map.set(roomId, userId);
  }
  return map;
}

function lastMessage(room: Room): MatrixEvent | null {
  const events = room.getLiveTimeline().getEvents();
  for (let i = events.length - 1; i >= 0 && i >= events.length - 30; i--) {
    const event = events[i]!;
    // An in-room verification request is not a message to preview (its body is a fallback text).
    if (isShown(event) && !event.isState() && event.getContent().msgtype !== "m.key.verification.request") return event;
  }
  return null;
}

/** `isExternal` marks a DM with an external partner (and asks about an unknown one). */
export function summarise(client: MatrixClient, room: Room, direct: Map<string, string>, isExternal?: ExternalLookup): RoomSummary | null {
  const me = client.getUserId() ?? "";
  const membership = room.getMyMembership();
  if (membership !== KnownMembership.Join && membership !== KnownMembership.Invite) return null;
  const isInvite = membership === KnownMembership.Invite;
  const myMember = room.getMember(me);
  const inviteEvent = isInvite ? myMember?.events.member : undefined;
  const inviter = inviteEvent?.getSender() ?? null;
  let dmUserId = direct.get(room.roomId) ?? null;
  if (!dmUserId && isInvite && inviteEvent?.getContent().is_direct === true) dmUserId = inviter;
  const last = lastMessage(room);
  const body = last?.isRedacted() || last?.isDecryptionFailure() || last?.getType() === EventType.RoomMessageEncrypted ? null : last?.getContent().body;
  const avatarMxc =
    room.getMxcAvatarUrl() ?? (dmUserId ? (room.getAvatarFallbackMember()?.getMxcAvatarUrl() ?? null) : null);
  const inviterMember = inviter ? room.getMember(inviter) : null;
  return {
    roomId: room.roomId,
    name: friendlyName(room.name || room.roomId),
    avatarMxc,
    isDirect: dmUserId !== null,
    isInvite,
    favourite: "m.favourite" in room.tags,
    lowPriority: "m.lowpriority" in room.tags,
    unread: isInvite ? 0 : room.getUnreadNotificationCount(NotificationCountType.Total),
    highlight: isInvite ? 0 : room.getUnreadNotificationCount(NotificationCountType.Highlight),
    lastActivity: last?.getTs() ?? room.getLastActiveTimestamp() ?? 0,
    lastMessage: typeof body === "string" ? body.slice(0, 120) : null,
    encrypted: room.hasEncryptionStateEvent(),
    inviterName: inviterMember?.name ?? inviter,
    dmUserId,
    ...(dmUserId !== null && isExternal?.(dmUserId) ? { external: true } : {}),
  };
}

export class RoomListBinder {
  readonly rooms = new Store<RoomSummary[]>([]);
  private summaries = new Map<string, RoomSummary>();
  private dirty = new Set<string>();
  private all = true;
  private scheduled = false;
  private direct = new Map<string, string>();
  private readonly stops: (() => void)[] = [];

  private readonly isExternal: ExternalLookup | undefined;

  constructor(
    private readonly client: MatrixClient,
    externals?: ExternalUsers,
  ) {
    this.isExternal = externals?.lookup;
    const mark = (room: Room | undefined) => {
      if (room) this.markDirty(room.roomId);
    };
    const markEvent = (event: MatrixEvent) => {
      const roomId = event.getRoomId();
      if (roomId) this.markDirty(roomId);
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const on = (event: any, handler: (...args: any[]) => void) => {
      client.on(event, handler);
      this.stops.push(() => client.off(event, handler));
    };
    on(RoomEvent.Timeline, (_e: MatrixEvent, room: Room | undefined) => mark(room));
    on(RoomEvent.Receipt, (_e: MatrixEvent, room: Room) => mark(room));
    on(RoomEvent.Tags, (_e: MatrixEvent, room: Room) => mark(room));
    on(RoomEvent.Name, (room: Room) => mark(room));
    on(RoomEvent.MyMembership, (room: Room) => mark(room));
    on(RoomEvent.LocalEchoUpdated, (_e: MatrixEvent, room: Room) => mark(room));
    // Counts arrive with each sync, sometimes without any event in the room.
    on(ClientEvent.Sync, () => this.markChangedCounts());
    on(RoomStateEvent.Events, markEvent);
    on(ClientEvent.AccountData, (event: MatrixEvent) => {
      if (event.getType() === EventType.Direct) this.markAll();
    });
    on(ClientEvent.Room, (room: Room) => mark(room));
    on(ClientEvent.DeleteRoom, (roomId: string) => this.markDirty(roomId));
    on(MatrixEventEvent.Decrypted, markEvent);
    // A partner found external: their DM's row gets the badge (rare, so every row is redone).
    if (externals) this.stops.push(externals.changes.subscribe(() => this.markAll()));
    this.schedule();
  }

  markDirty(roomId: string): void {
    this.dirty.add(roomId);
    this.schedule();
  }

  private markChangedCounts(): void {
    for (const [roomId, summary] of this.summaries) {
      const room = this.client.getRoom(roomId);
      if (
        room &&
        !summary.isInvite &&
        (room.getUnreadNotificationCount(NotificationCountType.Total) !== summary.unread ||
          room.getUnreadNotificationCount(NotificationCountType.Highlight) !== summary.highlight)
      ) {
        this.markDirty(roomId);
      }
    }
  }

  markAll(): void {
    this.all = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    if (typeof requestAnimationFrame === "function" && !document.hidden) requestAnimationFrame(run);
    else setTimeout(run, 50);
  }

  /** Recompute the dirty summaries (or all of them) and publish a new list. */
  flush(): void {
    if (this.all) {
      this.direct = directRoomMap(this.client);
      this.summaries.clear();
      for (const room of this.client.getRooms()) {
        const summary = summarise(this.client, room, this.direct, this.isExternal);
        if (summary) this.summaries.set(room.roomId, summary);
      }
    } else {
      for (const roomId of this.dirty) {
        const room = this.client.getRoom(roomId);
        const summary = room ? summarise(this.client, room, this.direct, this.isExternal) : null;
        if (summary) this.summaries.set(roomId, summary);
        else this.summaries.delete(roomId);
      }
    }
    this.all = false;
    this.dirty.clear();
    this.rooms.set([...this.summaries.values()]);
  }

  dispose(): void {
    for (const stop of this.stops) stop();
  }
}
