/**
 * What a finished one-to-one call was, from its signalling events alone: who
 * called, voice or video, how long it lasted and why it ended. Both sides read
 * the same events, so both timelines show the same entry. Pure (no SDK), and
 * defensive: call events are not validated by the server, so any field may be
 * missing or of the wrong type, and what cannot be read is left out.
 */

export interface CallEventLike {
  id?: string;
  type: string;
  ts: number;
  sender: string;
  content: Record<string, unknown>;
}

export type CallOutcome = "ended" | "declined" | "no_answer" | "connection_lost" | "cancelled" | "busy";

export interface CallSummary {
  callId: string;
  callerId: string | null;
  video: boolean;
  outcome: CallOutcome;
  /** Milliseconds between the answer and the end; null when never answered. */
  durationMs: number | null;
  /** The event that ended the call: where the timeline shows the entry. */
  endEventTs: number;
  endEventId: string | null;
}

export const CALL_INVITE = "m.call.invite";
export const CALL_ANSWER = "m.call.answer";
export const CALL_HANGUP = "m.call.hangup";
export const CALL_REJECT = "m.call.reject";
const END_TYPES = new Set([CALL_HANGUP, CALL_REJECT]);

/** Hangup reasons (spec, m.call.hangup) that mean the media connection failed. */
const CONNECTION_LOST = new Set(["ice_failed", "ice_timeout", "signalling_timeout"]);

/** The event's call ID, when it is a well-formed string. */
export function callIdOf(content: Record<string, unknown>): string | null {
  const id = content.call_id;
  return typeof id === "string" && id.length > 0 && id.length <= 255 ? id : null;
}

/** Whether this event ends a call (a hangup or a reject with a readable call ID). */
export function isCallEnd(event: Pick<CallEventLike, "type" | "content">): boolean {
  return END_TYPES.has(event.type) && callIdOf(event.content) !== null;
}

function offerHasVideo(content: Record<string, unknown>): boolean {
  const offer = content.offer;
  if (typeof offer !== "object" || offer === null) return false;
  const sdp = (offer as Record<string, unknown>).sdp;
  return typeof sdp === "string" && /^m=video /m.test(sdp);
}

/**
 * The summary of call ``callId`` from the room's events (any order, other calls
 * and other event types are skipped). Null when no event ends the call yet.
 */
export function summarizeCall(callId: string, events: readonly CallEventLike[]): CallSummary | null {
  const mine = events
    .filter((e) => typeof e.ts === "number" && callIdOf(e.content) === callId)
    .sort((a, b) => a.ts - b.ts);
  const invite = mine.find((e) => e.type === CALL_INVITE) ?? null;
  const answer = mine.find((e) => e.type === CALL_ANSWER) ?? null;
  const end = mine.find((e) => END_TYPES.has(e.type)) ?? null;
  if (!end) return null;
  const callerId = invite?.sender ?? null;
  const reason = typeof end.content.reason === "string" ? end.content.reason : "user_hangup";
  let outcome: CallOutcome;
  if (end.type === CALL_REJECT) outcome = "declined";
  else if (CONNECTION_LOST.has(reason)) outcome = "connection_lost";
  else if (reason === "invite_timeout") outcome = "no_answer";
  else if (reason === "user_busy") outcome = "busy";
  else if (answer) outcome = "ended";
  // Hung up before any answer: by the caller it was cancelled, by the callee declined (VoIP v0).
  else outcome = callerId !== null && end.sender !== callerId ? "declined" : "cancelled";
  const durationMs = answer && outcome !== "declined" ? Math.max(0, end.ts - answer.ts) : null;
  return {
    callId,
    callerId,
    video: invite ? offerHasVideo(invite.content) : false,
    outcome,
    durationMs,
    endEventTs: end.ts,
    endEventId: end.id ?? null,
  };
}

/** "1:05", "12:40", "1:02:03": a call's length as a clock shows it. */
export function formatCallDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}
