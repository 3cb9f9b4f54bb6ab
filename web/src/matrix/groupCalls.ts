/**
 * Group calls for small teams (MSC3401 through matrix-js-sdk's GroupCall): a
 * full mesh, every participant calling every other, so limited to six people.
 * The call lives in the room's `org.matrix.msc3401.call` state and each
 * participant's `org.matrix.msc3401.call.member` event, which new Sceau rooms
 * let every member send. The last one to leave ends the call.
 *
 * The SDK skips call state events of an unknown type or intent; malformed
 * member events are cleaned before it reads them (groupCallState.ts).
 */
import {
  CallFeedEvent,
  GroupCallEvent,
  GroupCallIntent,
  GroupCallState,
  GroupCallType,
  type GroupCall,
  type MatrixClient,
} from "matrix-js-sdk";
import type { CallFeed } from "matrix-js-sdk/lib/webrtc/callFeed";
import { GroupCallEventHandlerEvent } from "matrix-js-sdk/lib/webrtc/groupCallEventHandler";
import type { CallMedia, FeedView } from "./calls";
import { personOf } from "./eventMapper";
import { hardenGroupCalls } from "./groupCallState";
import { Store } from "./store";
import type { Person } from "./timeline";

/** A full mesh sends every stream to every peer: beyond six, phones and uplinks give up. */
export const MAX_GROUP_CALL_PARTICIPANTS = 6;

export const GROUP_CALL_EVENT = "org.matrix.msc3401.call";
export const GROUP_CALL_MEMBER_EVENT = "org.matrix.msc3401.call.member";

/** A room's ongoing group call, as the room header shows it. */
export interface RoomCallSummary {
  roomId: string;
  media: CallMedia;
  participants: Person[];
  full: boolean;
}

/** The group call this session has joined. */
export interface GroupCallView extends RoomCallSummary {
  joining: boolean;
  micMuted: boolean;
  cameraOff: boolean;
  feeds: FeedView[];
}

export class GroupCallManager {
  /** Ongoing group calls by room ID (whether we are in them or not). */
  readonly rooms = new Store<ReadonlyMap<string, RoomCallSummary>>(new Map());
  /** The call we are in, or null. */
  readonly current = new Store<GroupCallView | null>(null);
  private joined: GroupCall | null = null;
  private joining: { roomId: string; media: CallMedia } | null = null;
  private readonly watched = new Map<GroupCall, () => void>();
  private readonly feedUnbind = new Map<CallFeed, () => void>();
  private readonly stops: (() => void)[] = [];

  constructor(private readonly client: MatrixClient) {
    hardenGroupCalls();
    const refresh = () => this.refresh();
    for (const event of [
      GroupCallEventHandlerEvent.Incoming,
      GroupCallEventHandlerEvent.Outgoing,
      GroupCallEventHandlerEvent.Ended,
      GroupCallEventHandlerEvent.Participants,
    ]) {
      client.on(event, refresh);
      this.stops.push(() => client.off(event, refresh));
    }
    this.refresh();
  }

  /** Whether we may start (or join) a group call in this room. */
  canStart(roomId: string): boolean {
    const room = this.client.getRoom(roomId);
    if (!room || !this.client.supportsVoip() || room.getMyMembership() !== "join") return false;
    const me = this.client.getUserId() ?? "";
    const existing = this.rooms.get().get(roomId);
    if (existing) return !existing.full || existing.participants.some((p) => p.userId === me);
    return room.currentState.maySendStateEvent(GROUP_CALL_EVENT, me) && room.currentState.maySendStateEvent(GROUP_CALL_MEMBER_EVENT, me);
  }

  /** Join the room's call, starting one when there is none. */
  async join(roomId: string, media: CallMedia = "video"): Promise<void> {
    if (this.joined || this.joining) return;
    this.joining = { roomId, media };
    this.publishCurrent(null);
    try {
      await this.client.waitUntilRoomReadyForGroupCalls(roomId);
      let call = this.client.getGroupCallForRoom(roomId);
      if (call && this.participantCount(call) >= MAX_GROUP_CALL_PARTICIPANTS && !call.hasLocalParticipant()) {
        throw new Error("the call is full");
      }
      call ??= await this.client.createGroupCall(
        roomId,
        media === "video" ? GroupCallType.Video : GroupCallType.Voice,
        false,
        GroupCallIntent.Room,
      );
      this.joined = call;
      this.watch(call);
      await call.enter();
    } catch (error) {
      console.warn("could not join the group call", error);
      this.joined = null;
    } finally {
      this.joining = null;
      this.refresh();
    }
  }

  /** Leave the call; the last participant to leave ends it for the room. */
  async leave(): Promise<void> {
    const call = this.joined;
    if (!call) return;
    const me = this.client.getUserId();
    const myDevice = this.client.getDeviceId();
    const others = [...call.participants].some(([member, devices]) =>
      member.userId !== me ? devices.size > 0 : [...devices.keys()].some((d) => d !== myDevice),
    );
    this.joined = null;
    try {
      if (others) call.leave();
      else await call.terminate();
    } catch (error) {
      console.warn("leaving the group call failed", error);
    }
    this.refresh();
  }

  async setMicMuted(muted: boolean): Promise<void> {
    await this.joined?.setMicrophoneMuted(muted);
    this.refresh();
  }

  async setCameraOff(off: boolean): Promise<void> {
    await this.joined?.setLocalVideoMuted(off);
    this.refresh();
  }

  private participantCount(call: GroupCall): number {
    let count = 0;
    for (const devices of call.participants.values()) count += devices.size;
    return count;
  }

  private watch(call: GroupCall): void {
    if (this.watched.has(call)) return;
    const refresh = () => this.refresh();
    const events = [
      GroupCallEvent.GroupCallStateChanged,
      GroupCallEvent.ParticipantsChanged,
      GroupCallEvent.UserMediaFeedsChanged,
      GroupCallEvent.LocalMuteStateChanged,
    ] as const;
    for (const event of events) call.on(event, refresh);
    this.watched.set(call, () => {
      for (const event of events) call.off(event, refresh);
    });
  }

  private summary(call: GroupCall): RoomCallSummary {
    const room = call.room;
    const participants = [...call.participants.keys()].map((member) => personOf(room, member.userId));
    return {
      roomId: room.roomId,
      media: call.type === GroupCallType.Voice ? "voice" : "video",
      participants,
      full: this.participantCount(call) >= MAX_GROUP_CALL_PARTICIPANTS,
    };
  }

  private refresh(): void {
    const handler = this.client.groupCallEventHandler;
    const rooms = new Map<string, RoomCallSummary>();
    for (const call of handler?.groupCalls.values() ?? []) {
      if (call.state === GroupCallState.Ended) continue;
      this.watch(call);
      const summary = this.summary(call);
      if (summary.participants.length > 0 || call === this.joined) rooms.set(call.room.roomId, summary);
    }
    for (const [call, stop] of this.watched) {
      if (call !== this.joined && !handler?.groupCalls.has(call.room.roomId)) {
        stop();
        this.watched.delete(call);
      }
    }
    this.rooms.set(rooms);
    if (this.joined?.state === GroupCallState.Ended) this.joined = null;
    this.publishCurrent(this.joined);
  }

  private publishCurrent(call: GroupCall | null): void {
    if (!call) {
      this.releaseFeeds([]);
      const joining = this.joining;
      this.current.set(
        joining
          ? { ...joining, participants: [], full: false, joining: true, micMuted: false, cameraOff: false, feeds: [] }
          : null,
      );
      return;
    }
    const feeds = call.userMediaFeeds;
    this.releaseFeeds(feeds);
    for (const feed of feeds) {
      if (this.feedUnbind.has(feed)) continue;
      const update = () => this.refresh();
      feed.on(CallFeedEvent.MuteStateChanged, update);
      feed.on(CallFeedEvent.NewStream, update);
      this.feedUnbind.set(feed, () => {
        feed.off(CallFeedEvent.MuteStateChanged, update);
        feed.off(CallFeedEvent.NewStream, update);
      });
    }
    const room = call.room;
    this.current.set({
      ...this.summary(call),
      joining: call.state !== GroupCallState.Entered,
      micMuted: call.isMicrophoneMuted(),
      cameraOff: call.isLocalVideoMuted(),
      feeds: feeds.map((feed) => ({
        key: `${feed.userId}-${feed.deviceId ?? ""}-${feed.stream.id}`,
        userId: feed.userId,
        name: personOf(room, feed.userId).name,
        stream: feed.stream,
        local: feed.isLocal(),
        screen: false,
        audioMuted: feed.isAudioMuted(),
        videoMuted: feed.isVideoMuted(),
      })),
    });
  }

  private releaseFeeds(keep: readonly CallFeed[]): void {
    const kept = new Set(keep);
    for (const [feed, stop] of this.feedUnbind) {
      if (!kept.has(feed)) {
        stop();
        this.feedUnbind.delete(feed);
      }
    }
  }

  dispose(): void {
    for (const stop of this.stops) stop();
    for (const stop of this.watched.values()) stop();
    this.watched.clear();
    this.releaseFeeds([]);
    if (this.joined) this.joined.leave();
    this.joined = null;
  }
}
