/**
 * Group call membership events as matrix-js-sdk's GroupCall may read them.
 *
 * The SDK walks `m.calls[*]["m.call_id"]` and `m.devices[*].device_id` of
 * every member's `org.matrix.msc3401.call.member` event without checking that
 * the entries are objects: one `null` from a broken client throws inside sync
 * ("Failed to process events on room") and the call stops updating for
 * everyone. Entries that are not objects are dropped before GroupCall reads
 * them; what the server stored is left alone.
 */
import { GroupCall, type MatrixEvent } from "matrix-js-sdk";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The content with non-object calls and devices dropped; the same object when already clean. */
export function sanitizeCallMemberContent(content: Json): Json {
  const calls = content["m.calls"];
  if (!Array.isArray(calls)) return content;
  let changed = false;
  const kept: Json[] = [];
  for (const call of calls) {
    if (!isObject(call)) {
      changed = true;
      continue;
    }
    const devices = call["m.devices"];
    if (Array.isArray(devices) && !devices.every(isObject)) {
      changed = true;
      kept.push({ ...call, "m.devices": devices.filter(isObject) });
    } else {
      kept.push(call);
    }
  }
  return changed ? { ...content, "m.calls": kept } : content;
}

function sanitized(event: MatrixEvent): MatrixEvent {
  const content = event.getContent();
  const clean = sanitizeCallMemberContent(content);
  if (clean === content) return event;
  // Everything else is read from the real event through the prototype chain.
  const view = Object.create(event) as MatrixEvent;
  view.getContent = (() => clean) as MatrixEvent["getContent"];
  return view;
}

const HARDENED = Symbol.for("sceau.groupCallMemberEventsSanitized");

/** Make every GroupCall read member events through `sanitizeCallMemberContent` (once). */
export function hardenGroupCalls(): void {
  const proto = GroupCall.prototype as unknown as Record<PropertyKey, unknown> & {
    getMemberStateEvents(this: GroupCall, userId?: string): MatrixEvent[] | MatrixEvent | null;
  };
  if (proto[HARDENED]) return;
  const original = proto.getMemberStateEvents;
  proto.getMemberStateEvents = function (this: GroupCall, userId?: string) {
    const found = original.call(this, userId);
    if (Array.isArray(found)) return found.map(sanitized);
    return found ? sanitized(found) : found;
  };
  proto[HARDENED] = true;
}
