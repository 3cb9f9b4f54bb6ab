/**
 * The state's room rules (issue #11) as view state and actions: the room's
 * access rule (`im.vector.room.access_rules`), opening a restricted room to
 * external partners, invitations by email and the pending ones.
 */
import { Method, RoomStateEvent, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";

export const ACCESS_RULES_EVENT = "im.vector.room.access_rules";
export const THIRD_PARTY_INVITE_EVENT = "m.room.third_party_invite";

export type AccessRule = "restricted" | "unrestricted" | "direct";

/** The rule a state content names, or null (no event, or an unknown rule). */
export function accessRuleOf(content: unknown): AccessRule | null {
  const rule = content && typeof content === "object" ? (content as { rule?: unknown }).rule : undefined;
  return rule === "restricted" || rule === "unrestricted" || rule === "direct" ? rule : null;
}

/** The only change the server allows: restricted → unrestricted. */
export function mayOpenToExternals(rule: AccessRule | null, maySend: boolean): boolean {
  return rule === "restricted" && maySend;
}

const EMAIL = /^[^@\s:]+@[^@\s]+\.[^@\s]+$/;

/** An email address, not a Matrix ID: invited by email rather than by user ID. */
export function isEmailAddress(value: string): boolean {
  const v = value.trim();
  return !v.startsWith("@") && EMAIL.test(v);
}

export interface PendingEmailInvite {
  token: string;
  /** The masked address the server published (j***@p***.fr), never the real one. */
  displayName: string;
}

/** Pending email invitations from the room's m.room.third_party_invite events (a revoked one has no content). */
export function pendingEmailInvites(events: { stateKey: string; content: Record<string, unknown> }[]): PendingEmailInvite[] {
  return events
    .filter((e) => typeof e.content.display_name === "string" && e.content.display_name !== "")
    .map((e) => ({ token: e.stateKey, displayName: e.content.display_name as string }))
    .sort((a, b) => a.displayName.localeCompare(b.displayName));
}

export class RoomPolicy {
  constructor(private readonly client: MatrixClient) {}

  /** The room's rule, and whether this user may change it. */
  accessRule(roomId: string): { rule: AccessRule | null; maySend: boolean } {
    const room = this.client.getRoom(roomId);
    if (!room) return { rule: null, maySend: false };
    const state = room.currentState;
    return {
      rule: accessRuleOf(state.getStateEvents(ACCESS_RULES_EVENT, "")?.getContent()),
      maySend: state.maySendStateEvent(ACCESS_RULES_EVENT, this.client.getSafeUserId()),
    };
  }

  /** restricted → unrestricted: external partners may then be invited. */
  async openToExternals(roomId: string): Promise<void> {
    // The SDK types only know its own state events; this one is Sceau's.
    await this.client.sendStateEvent(roomId, ACCESS_RULES_EVENT as never, { rule: "unrestricted" } as never, "");
  }

  /** POST /rooms/{id}/invite with an email: this server is its own identity server. */
  async inviteByEmail(roomId: string, address: string): Promise<void> {
    const idServer = new URL(this.client.getHomeserverUrl()).host;
    await this.client.http.authedRequest(Method.Post, `/rooms/${encodeURIComponent(roomId)}/invite`, undefined, {
      medium: "email",
      address: address.trim().toLowerCase(),
      id_server: idServer,
    });
  }

  /** Calls `listener` when the room's access rule or email invitations change (sync). */
  watch(roomId: string, listener: () => void): () => void {
    const onEvent = (event: MatrixEvent) => {
      const type = event.getType();
      if (event.getRoomId() === roomId && (type === ACCESS_RULES_EVENT || type === THIRD_PARTY_INVITE_EVENT || type === "m.room.member")) {
        listener();
      }
    };
    this.client.on(RoomStateEvent.Events, onEvent);
    return () => {
      this.client.off(RoomStateEvent.Events, onEvent);
    };
  }

  pendingEmailInvites(roomId: string): PendingEmailInvite[] {
    const room = this.client.getRoom(roomId);
    if (!room) return [];
    return pendingEmailInvites(
      room.currentState
        .getStateEvents(THIRD_PARTY_INVITE_EVENT)
        .map((e) => ({ stateKey: e.getStateKey() ?? "", content: e.getContent() })),
    );
  }
}
