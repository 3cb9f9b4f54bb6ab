/**
 * Finished calls in the room timeline: one entry per call, at the event that
 * ended it (the first hangup or reject), summarised from the call's events
 * still in the live timeline. Call events are otherwise hidden.
 */
import type { MatrixEvent, Room } from "matrix-js-sdk";
import { callIdOf, isCallEnd, summarizeCall, type CallEventLike, type CallSummary } from "./callHistory";

function asLike(event: MatrixEvent): CallEventLike {
  return {
    id: event.getId() ?? undefined,
    type: event.getType(),
    ts: event.getTs(),
    sender: event.getSender() ?? "",
    content: event.getContent(),
  };
}

/** Whether the event may be a call's timeline entry (cheap: no look-up). */
export function mayEndCall(event: MatrixEvent): boolean {
  return isCallEnd({ type: event.getType(), content: event.getContent() });
}

/** The call this event ended, when it is the first end event of that call; else null. */
export function callSummaryOf(room: Room, event: MatrixEvent): CallSummary | null {
  if (!mayEndCall(event)) return null;
  const callId = callIdOf(event.getContent());
  if (!callId) return null;
  const related = room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.getType().startsWith("m.call.") && callIdOf(e.getContent()) === callId)
    .map(asLike);
  if (!related.some((e) => e.id === event.getId())) related.push(asLike(event));
  const summary = summarizeCall(callId, related);
  return summary && summary.endEventId === (event.getId() ?? null) ? summary : null;
}
