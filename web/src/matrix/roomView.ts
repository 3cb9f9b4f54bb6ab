/**
 * The open room (or one thread of it): timeline, room info, typing and the
 * actions of the composer and the message menu. Recomputes the timeline in
 * one batch per frame when the SDK reports changes.
 */
import {
  ClientEvent,
  Direction,
  EventStatus,
  EventType,
  KnownMembership,
  MatrixEventEvent,
  ReceiptType,
  RelationType,
  RoomEvent,
  RoomMemberEvent,
  RoomStateEvent,
  ThreadEvent,
  type EventTimeline,
  type MatrixClient,
  type MatrixEvent,
  type Room,
  type RoomMember,
} from "matrix-js-sdk";
import { friendlyName, isShown, personOf, toTimelineEvent } from "./eventMapper";
import type { ExternalLookup, ExternalUsers } from "./externals";
import { composeMessage, type Mention } from "./markdown";
import { Store } from "./store";
import { readMarkerIn, type Person, type ReadMarker, type TimelineEvent } from "./timeline";

export interface Member extends Person {
  powerLevel: number;
  membership: string;
}

export interface RoomInfo {
  roomId: string;
  name: string;
  topic: string | null;
  avatarMxc: string | null;
  encrypted: boolean;
  membership: string;
  isDirect: boolean;
  /** A DM whose other member is an external partner: the header shows the badge. */
  partnerExternal: boolean;
  joinedCount: number;
  inviterName: string | null;
  myLevel: number;
  inviteLevel: number;
  can: { invite: boolean; name: boolean; topic: boolean; avatar: boolean; powerLevels: boolean; redactOthers: boolean };
}

/**
 * Where our read receipt is. getEventReadUpTo only answers for events in the
 * loaded timeline; the receipt itself names the event even when it is not.
 */
function readMarkerOf(room: Room, userId: string): string | null {
  const loaded = room.getEventReadUpTo(userId);
  if (loaded) return loaded;
  const receipt =
    room.getReadReceiptForUserId(userId, true, ReceiptType.Read) ??
    room.getReadReceiptForUserId(userId, true, ReceiptType.ReadPrivate);
  return receipt?.eventId ?? null;
}

export interface PaginationState {
  loading: boolean;
  atStart: boolean;
}

export class RoomViewModel {
  readonly events = new Store<TimelineEvent[]>([]);
  readonly info: Store<RoomInfo>;
  readonly typing = new Store<Person[]>([]);
  readonly pagination = new Store<PaginationState>({ loading: false, atStart: false });
  /** Our read receipt when the room was opened: where the unread marker goes. */
  readonly readUpTo: string | null;
  /** The shown event the unread marker follows, and whether the receipt's event is loaded. */
  readonly readMarker = new Store<ReadMarker>({ loaded: false, eventId: null });
  private scheduled = false;
  private readonly stops: (() => void)[] = [];
  private lastTypingSent = 0;
  private readonly isExternal: ExternalLookup;

  constructor(
    private readonly client: MatrixClient,
    readonly room: Room,
    readonly threadId: string | null,
    externals?: ExternalUsers,
  ) {
    const me = client.getUserId() ?? "";
    this.isExternal = externals?.lookup ?? (() => false);
    this.readUpTo = readMarkerOf(room, me);
    this.info = new Store(this.computeInfo());
    const roomId = room.roomId;
    const mine = (r: Room | undefined | null) => r?.roomId === roomId;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const on = (emitter: any, event: any, handler: (...args: any[]) => void) => {
      emitter.on(event, handler);
      this.stops.push(() => emitter.off(event, handler));
    };
    const refresh = () => this.schedule();
    on(client, RoomEvent.Timeline, (_e: MatrixEvent, r: Room | undefined) => mine(r) && refresh());
    on(client, RoomEvent.TimelineReset, (r: Room | undefined) => mine(r) && refresh());
    on(client, RoomEvent.Redaction, (_e: MatrixEvent, r: Room) => mine(r) && refresh());
    on(client, RoomEvent.LocalEchoUpdated, (_e: MatrixEvent, r: Room) => mine(r) && refresh());
    on(client, RoomEvent.Receipt, (_e: MatrixEvent, r: Room) => mine(r) && refresh());
    on(client, RoomEvent.Name, (r: Room) => mine(r) && refresh());
    on(client, RoomEvent.MyMembership, (r: Room) => mine(r) && refresh());
    on(client, RoomStateEvent.Events, (e: MatrixEvent) => e.getRoomId() === roomId && refresh());
    on(client, MatrixEventEvent.Decrypted, (e: MatrixEvent) => e.getRoomId() === roomId && refresh());
    on(client, MatrixEventEvent.Replaced, (e: MatrixEvent) => e.getRoomId() === roomId && refresh());
    on(client, ClientEvent.AccountData, refresh);
    on(room, ThreadEvent.New, refresh);
    on(room, ThreadEvent.Update, refresh);
    on(room, ThreadEvent.NewReply, refresh);
    on(room, RoomEvent.Timeline, refresh);
    if (externals) this.stops.push(externals.changes.subscribe(refresh));
    on(client, RoomMemberEvent.Typing, (_e: MatrixEvent, member: RoomMember) => {
      if (member.roomId === roomId) this.updateTyping();
    });
    this.recompute();
    if (threadId) void this.loadThread();
  }

  private get thread() {
    return this.threadId ? (this.room.getThread(this.threadId) ?? null) : null;
  }

  private async loadThread(): Promise<void> {
    if (!this.threadId) return;
    if (!this.room.getThread(this.threadId)) {
      const root = this.room.findEventById(this.threadId) ?? (await this.fetchEvent(this.threadId));
      if (!root) return;
      this.room.createThread(this.threadId, root, [], true);
    }
    this.schedule();
  }

  private async fetchEvent(eventId: string): Promise<MatrixEvent | null> {
    try {
      const raw = await this.client.fetchRoomEvent(this.room.roomId, eventId);
      const mapper = this.client.getEventMapper();
      return mapper(raw);
    } catch {
      return null;
    }
  }

  private timeline(): EventTimeline {
    return this.thread?.liveTimeline ?? this.room.getLiveTimeline();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.recompute();
    };
    if (typeof requestAnimationFrame === "function" && !document.hidden) requestAnimationFrame(run);
    else setTimeout(run, 30);
  }

  private recompute(): void {
    const inThread = this.threadId !== null;
    const raw = [...this.timeline().getEvents()];
    if (inThread) {
      const root = this.room.findEventById(this.threadId!);
      if (root && !raw.includes(root)) raw.unshift(root);
    }
    const pending = this.room
      .getPendingEvents()
      .filter((e) => (inThread ? e.threadRootId === this.threadId : !e.threadRootId || e.isThreadRoot));
    const events: TimelineEvent[] = [];
    const seen = new Set<string>();
    const rows: { id: string | null; shown: boolean }[] = [];
    for (const event of [...raw, ...pending]) {
      const shown = isShown(event, this.room) && (inThread || !event.isRelation(RelationType.Thread));
      rows.push({ id: event.getId() ?? null, shown });
      if (!shown) continue;
      const mapped = toTimelineEvent(this.client, this.room, event, inThread, this.isExternal);
      if (seen.has(mapped.id)) continue;
      seen.add(mapped.id);
      events.push(mapped);
    }
    const marker = readMarkerIn(rows, this.readUpTo);
    const before = this.readMarker.get();
    if (marker.loaded !== before.loaded || marker.eventId !== before.eventId) this.readMarker.set(marker);
    this.events.set(events);
    this.info.set(this.computeInfo());
  }

  private computeInfo(): RoomInfo {
    const room = this.room;
    const me = this.client.getUserId() ?? "";
    const state = room.currentState;
    const levels = state.getStateEvents(EventType.RoomPowerLevels, "")?.getContent() ?? {};
    const myLevel = room.getMember(me)?.powerLevel ?? 0;
    const inviteLevel = typeof levels.invite === "number" ? levels.invite : 0;
    const canState = (type: string) => state.maySendStateEvent(type, me);
    const membership = room.getMyMembership();
    const direct = this.client.getAccountData(EventType.Direct)?.getContent() ?? {};
    const isDirect = Object.values(direct).some((ids) => Array.isArray(ids) && ids.includes(room.roomId));
    const invite = membership === KnownMembership.Invite ? room.getMember(me)?.events.member : undefined;
    const partner = isDirect ? room.guessDMUserId() : me;
    return {
      roomId: room.roomId,
      name: friendlyName(room.name || room.roomId),
      topic: (state.getStateEvents(EventType.RoomTopic, "")?.getContent().topic as string | undefined) || null,
      avatarMxc: room.getMxcAvatarUrl() ?? (isDirect ? (room.getAvatarFallbackMember()?.getMxcAvatarUrl() ?? null) : null),
      encrypted: room.hasEncryptionStateEvent(),
      membership,
      isDirect: isDirect || invite?.getContent().is_direct === true,
      partnerExternal: partner !== me && this.isExternal(partner),
      joinedCount: room.getJoinedMemberCount(),
      inviterName: invite?.getSender() ? personOf(room, invite.getSender()!).name : null,
      myLevel,
      inviteLevel,
      can: {
        invite: myLevel >= inviteLevel && membership === KnownMembership.Join,
        name: canState(EventType.RoomName),
        topic: canState(EventType.RoomTopic),
        avatar: canState(EventType.RoomAvatar),
        powerLevels: canState(EventType.RoomPowerLevels),
        redactOthers: state.hasSufficientPowerLevelFor("redact", myLevel),
      },
    };
  }

  private updateTyping(): void {
    const me = this.client.getUserId();
    this.typing.set(
      this.room
        .getMembers()
        .filter((m) => m.typing && m.userId !== me)
        .map((m) => personOf(this.room, m.userId)),
    );
  }

  /** Members with their power levels, loading lazy members first. */
  async members(): Promise<Member[]> {
    await this.room.loadMembersIfNeeded();
    return this.room
      .getMembers()
      .filter((m) => m.membership === KnownMembership.Join || m.membership === KnownMembership.Invite)
      .map((m) => ({ ...personOf(this.room, m.userId, this.isExternal), powerLevel: m.powerLevel, membership: m.membership ?? "" }))
      .sort((a, b) => b.powerLevel - a.powerLevel || a.name.localeCompare(b.name));
  }

  /** Load older messages; returns false at the start of the room. */
  async paginateBack(): Promise<boolean> {
    const state = this.pagination.get();
    if (state.loading || state.atStart) return !state.atStart;
    this.pagination.set({ loading: true, atStart: false });
    let more: boolean;
    try {
      more = await this.client.paginateEventTimeline(this.timeline(), { backwards: true, limit: 40 });
    } catch {
      more = true;
    }
    const atStart = !more || this.timeline().getPaginationToken(Direction.Backward) === null;
    this.pagination.set({ loading: false, atStart });
    this.schedule();
    return !atStart;
  }

  /** Paginate back until the event is loaded (for jump to first unread). */
  async loadUntil(eventId: string, maxPages = 20): Promise<boolean> {
    for (let i = 0; i < maxPages; i++) {
      if (this.timeline().getEvents().some((e) => e.getId() === eventId)) return true;
      if (!(await this.paginateBack())) break;
    }
    return this.timeline().getEvents().some((e) => e.getId() === eventId);
  }

  async send(text: string, opts: { replyTo?: string | null; mentions?: Mention[] } = {}): Promise<void> {
    const content: Record<string, unknown> = { ...composeMessage(text, opts.mentions ?? []) };
    if (opts.replyTo) content["m.relates_to"] = { "m.in_reply_to": { event_id: opts.replyTo } };
    this.setTyping(false);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await this.client.sendMessage(this.room.roomId, this.threadId, content as any);
  }

  async edit(eventId: string, text: string, mentions: Mention[] = []): Promise<void> {
    const newContent = composeMessage(text, mentions);
    const content: Record<string, unknown> = {
      ...newContent,
      body: `* ${newContent.body}`,
      "m.new_content": newContent,
      "m.relates_to": { rel_type: RelationType.Replace, event_id: eventId },
    };
    if (newContent.formatted_body) content.formatted_body = `* ${newContent.formatted_body}`;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await this.client.sendMessage(this.room.roomId, this.threadId, content as any);
  }

  async react(eventId: string, key: string): Promise<void> {
    await this.client.sendEvent(this.room.roomId, this.threadId, EventType.Reaction, {
      "m.relates_to": { rel_type: RelationType.Annotation, event_id: eventId, key },
    });
  }

  async toggleReaction(eventId: string, key: string, myEventId: string | null): Promise<void> {
    if (myEventId) await this.redact(myEventId);
    else await this.react(eventId, key);
  }

  async redact(eventId: string): Promise<void> {
    await this.client.redactEvent(this.room.roomId, eventId);
  }

  private pendingEvent(id: string): MatrixEvent | undefined {
    return this.room.getPendingEvents().find((e) => e.getId() === id || e.getTxnId() === id);
  }

  async retry(id: string): Promise<void> {
    const event = this.pendingEvent(id);
    if (event && event.status === EventStatus.NOT_SENT) await this.client.resendEvent(event, this.room);
  }

  cancel(id: string): void {
    const event = this.pendingEvent(id);
    if (event) this.client.cancelPendingEvent(event);
  }

  /** Typing notices, at most one "typing" every 4 s while keys are pressed. */
  setTyping(typing: boolean): void {
    const now = Date.now();
    if (typing && now - this.lastTypingSent < 4000) return;
    this.lastTypingSent = typing ? now : 0;
    void this.client.sendTyping(this.room.roomId, typing, typing ? 6000 : undefined as unknown as number).catch(() => undefined);
  }

  /** Send a read receipt for the latest event from someone else. */
  markRead(): void {
    const events = this.timeline().getEvents();
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]!;
      const id = event.getId();
      if (!id?.startsWith("$") || event.status !== null) continue;
      const me = this.client.getUserId() ?? "";
      if (this.room.hasUserReadEvent(me, id)) return;
      void this.client.sendReadReceipt(event).catch(() => undefined);
      return;
    }
  }

  dispose(): void {
    for (const stop of this.stops) stop();
    this.stops.length = 0;
  }
}
