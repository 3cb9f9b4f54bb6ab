/**
 * One-to-one voice and video calls with matrix-js-sdk's MatrixCall: the call on
 * screen as view state, incoming calls from the SDK's CallEventHandler, and the
 * call screen's actions. The SDK fetches the TURN servers (/voip/turnServer)
 * itself when the client starts and refreshes them before they expire.
 *
 * Incoming invites the SDK could not make sense of (a malformed offer ends the
 * call before it rings) are never shown: only calls that reach "ringing" are.
 */
import { CallEvent, CallFeedEvent, createNewMatrixCall, type MatrixCall, type MatrixClient } from "matrix-js-sdk";
import { CallErrorCode, CallParty, CallState, CallType } from "matrix-js-sdk/lib/webrtc/call";
import { CallEventHandlerEvent } from "matrix-js-sdk/lib/webrtc/callEventHandler";
import type { CallFeed } from "matrix-js-sdk/lib/webrtc/callFeed";
import { SDPStreamMetadataPurpose } from "matrix-js-sdk/lib/webrtc/callEventTypes";
import { personOf } from "./eventMapper";
import { Store } from "./store";
import type { Person } from "./timeline";

export type CallMedia = "voice" | "video";
export type CallPhase = "incoming" | "outgoing" | "connecting" | "connected" | "ended";
export type CallEndReason =
  | "hangup"
  | "remote_hangup"
  | "declined"
  | "no_answer"
  | "connection_lost"
  | "answered_elsewhere"
  | "busy"
  | "no_media"
  | "failed";

/** One audio/video stream of the call, local or remote. */
export interface FeedView {
  key: string;
  userId: string;
  name: string;
  stream: MediaStream;
  local: boolean;
  screen: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
}

export interface CallView {
  callId: string;
  roomId: string;
  peer: Person;
  media: CallMedia;
  direction: "inbound" | "outbound";
  phase: CallPhase;
  /** When media started to flow (local clock), for the duration shown. */
  connectedAt: number | null;
  endReason: CallEndReason | null;
  micMuted: boolean;
  cameraOff: boolean;
  screenSharing: boolean;
  feeds: FeedView[];
}

const OUTGOING_STATES = new Set<CallState>([CallState.Fledgling, CallState.WaitLocalMedia, CallState.CreateOffer, CallState.InviteSent]);

function phaseOf(call: MatrixCall): CallPhase {
  const state = call.state;
  if (state === CallState.Ended) return "ended";
  if (state === CallState.Ringing) return "incoming";
  if (state === CallState.Connected) return "connected";
  if (OUTGOING_STATES.has(state)) return "outgoing";
  return "connecting";
}

/** Why the call ended, as the person on this side should read it. */
export function endReasonOf(reason: string | undefined, party: "local" | "remote" | undefined, wasAnswered: boolean, direction: "inbound" | "outbound"): CallEndReason {
  switch (reason) {
    case CallErrorCode.InviteTimeout:
      return "no_answer";
    case CallErrorCode.IceFailed:
    case "ice_timeout":
    case CallErrorCode.SignallingFailed:
      return "connection_lost";
    case CallErrorCode.AnsweredElsewhere:
      return "answered_elsewhere";
    case CallErrorCode.UserBusy:
      return "busy";
    case CallErrorCode.NoUserMedia:
      return "no_media";
    case undefined:
    case CallErrorCode.UserHangup:
      if (party === "local") return "hangup";
      // The callee ended an unanswered call: a decline (reject, or a VoIP v0 hangup).
      return !wasAnswered && direction === "outbound" ? "declined" : "remote_hangup";
    default:
      return "failed";
  }
}

export class CallManager {
  /** The call on screen (ringing, in progress, or just ended), or null. */
  readonly call = new Store<CallView | null>(null);
  private active: MatrixCall | null = null;
  private answered = false;
  private direction: "inbound" | "outbound" = "outbound";
  private media: CallMedia = "voice";
  private connectedAt: number | null = null;
  private readonly unbind: (() => void)[] = [];
  private readonly feedUnbind = new Map<CallFeed, () => void>();
  readonly dispose: () => void;

  constructor(private readonly client: MatrixClient) {
    const onIncoming = (call: MatrixCall) => this.onIncoming(call);
    client.on(CallEventHandlerEvent.Incoming, onIncoming);
    this.dispose = () => {
      client.off(CallEventHandlerEvent.Incoming, onIncoming);
      this.release();
    };
  }

  /** Whether this browser can make calls at all (WebRTC present). */
  get supported(): boolean {
    return this.client.supportsVoip();
  }

  /** Whether a one-to-one call may start in the room: joined, exactly two members. */
  canCall(roomId: string): boolean {
    const room = this.client.getRoom(roomId);
    return this.supported && room?.getMyMembership() === "join" && room.getJoinedMemberCount() === 2;
  }

  /** Call the other member of the room. */
  async start(roomId: string, media: CallMedia): Promise<void> {
    if (this.active && this.active.state !== CallState.Ended) return;
    const call = createNewMatrixCall(this.client, roomId);
    if (!call) throw new Error("calls are not supported in this browser");
    this.adopt(call, "outbound", media);
    try {
      if (media === "video") await call.placeVideoCall();
      else await call.placeVoiceCall();
    } catch (error) {
      console.warn("the call could not start", error);
      this.publish();
    }
  }

  async answer(): Promise<void> {
    const call = this.active;
    if (!call || call.state !== CallState.Ringing) return;
    const view = this.call.get();
    await call.answer(true, view?.media === "video");
  }

  decline(): void {
    const call = this.active;
    if (call?.state === CallState.Ringing) call.reject();
  }

  hangup(): void {
    const call = this.active;
    if (call && call.state !== CallState.Ended) call.hangup(CallErrorCode.UserHangup, false);
  }

  async setMicMuted(muted: boolean): Promise<void> {
    await this.active?.setMicrophoneMuted(muted);
    this.publish();
  }

  async setCameraOff(off: boolean): Promise<void> {
    await this.active?.setLocalVideoMuted(off);
    this.publish();
  }

  async toggleScreenShare(): Promise<void> {
    const call = this.active;
    if (!call) return;
    try {
      await call.setScreensharingEnabled(!call.isScreensharing());
    } catch (error) {
      console.warn("screen sharing failed", error);
    }
    this.publish();
  }

  /** Close the screen of a call that has ended. */
  dismiss(): void {
    if (this.active && this.active.state !== CallState.Ended) return;
    this.release();
    this.call.set(null);
  }

  private onIncoming(call: MatrixCall): void {
    // The legs of a group call come through here too; GroupCall takes them.
    if (call.groupCallId) return;
    // A malformed invite never rings (the SDK ends it): nothing to show.
    if (call.state !== CallState.Ringing) return;
    if (this.active && this.active.state !== CallState.Ended) {
      if (this.active.callId !== call.callId) call.hangup(CallErrorCode.UserBusy, false);
      return;
    }
    this.release();
    this.adopt(call, "inbound", call.type === CallType.Video ? "video" : "voice");
  }

  private adopt(call: MatrixCall, direction: "inbound" | "outbound", media: CallMedia): void {
    this.release();
    this.active = call;
    this.answered = false;
    this.connectedAt = null;
    this.direction = direction;
    this.media = media;
    const onState = (state: CallState) => {
      if (state === CallState.Connecting || state === CallState.Connected || state === CallState.CreateAnswer) this.answered = true;
      if (state === CallState.Connected && this.connectedAt === null) this.connectedAt = Date.now();
      this.publish();
    };
    const onFeeds = () => {
      this.watchFeeds(call);
      this.publish();
    };
    const onHangup = () => this.publish();
    call.on(CallEvent.State, onState);
    call.on(CallEvent.FeedsChanged, onFeeds);
    call.on(CallEvent.Hangup, onHangup);
    this.unbind.push(() => {
      call.off(CallEvent.State, onState);
      call.off(CallEvent.FeedsChanged, onFeeds);
      call.off(CallEvent.Hangup, onHangup);
    });
    this.watchFeeds(call);
    this.publish();
  }

  private watchFeeds(call: MatrixCall): void {
    const feeds = new Set(call.getFeeds());
    for (const [feed, stop] of this.feedUnbind) {
      if (!feeds.has(feed)) {
        stop();
        this.feedUnbind.delete(feed);
      }
    }
    for (const feed of feeds) {
      if (this.feedUnbind.has(feed)) continue;
      const update = () => this.publish();
      feed.on(CallFeedEvent.MuteStateChanged, update);
      feed.on(CallFeedEvent.NewStream, update);
      this.feedUnbind.set(feed, () => {
        feed.off(CallFeedEvent.MuteStateChanged, update);
        feed.off(CallFeedEvent.NewStream, update);
      });
    }
  }

  private publish(): void {
    const call = this.active;
    if (!call) return;
    const room = this.client.getRoom(call.roomId);
    const me = this.client.getUserId() ?? "";
    const peerId =
      call.getOpponentMember()?.userId ?? call.invitee ?? room?.getJoinedMembers().find((m) => m.userId !== me)?.userId ?? "";
    const phase = phaseOf(call);
    const party = call.hangupParty === CallParty.Local ? "local" : call.hangupParty === CallParty.Remote ? "remote" : undefined;
    this.call.set({
      callId: call.callId,
      roomId: call.roomId,
      peer: room ? personOf(room, peerId) : { userId: peerId, name: peerId, avatarMxc: null },
      media: this.media,
      direction: this.direction,
      phase,
      connectedAt: this.connectedAt,
      endReason: phase === "ended" ? endReasonOf(call.hangupReason, party, this.answered, this.direction) : null,
      micMuted: call.isMicrophoneMuted(),
      cameraOff: call.isLocalVideoMuted(),
      screenSharing: call.isScreensharing(),
      feeds: call.getFeeds().map((feed) => ({
        key: `${feed.isLocal() ? "local" : "remote"}-${feed.purpose}-${feed.stream.id}`,
        userId: feed.userId,
        name: room ? personOf(room, feed.userId).name : feed.userId,
        stream: feed.stream,
        local: feed.isLocal(),
        screen: feed.purpose === SDPStreamMetadataPurpose.Screenshare,
        audioMuted: feed.isAudioMuted(),
        videoMuted: feed.isVideoMuted(),
      })),
    });
  }

  private release(): void {
    for (const stop of this.unbind) stop();
    this.unbind.length = 0;
    for (const stop of this.feedUnbind.values()) stop();
    this.feedUnbind.clear();
    this.active = null;
  }
}
