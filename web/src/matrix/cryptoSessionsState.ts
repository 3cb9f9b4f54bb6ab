/**
 * The session (device) list: each device of the account with its
 * verification status, this one first, then by last activity. Plus the
 * user-interactive auth (UIA) details needed to sign a session out.
 */

export type SessionTrust = "verified" | "unverified" | "unknown";

export interface DeviceFacts {
  device_id: string;
  display_name?: string | null;
  last_seen_ts?: number | null;
  last_seen_ip?: string | null;
}

export interface SessionRow {
  deviceId: string;
  displayName: string | null;
  lastSeenTs: number | null;
  lastSeenIp: string | null;
  current: boolean;
  trust: SessionTrust;
}

export function sessionRows(
  devices: readonly DeviceFacts[],
  currentDeviceId: string,
  trust: ReadonlyMap<string, boolean | null>,
): SessionRow[] {
  const rows = devices.map((d) => {
    const verified = trust.get(d.device_id);
    return {
      deviceId: d.device_id,
      displayName: d.display_name?.trim() || null,
      lastSeenTs: typeof d.last_seen_ts === "number" ? d.last_seen_ts : null,
      lastSeenIp: d.last_seen_ip ?? null,
      current: d.device_id === currentDeviceId,
      trust: (verified === true ? "verified" : verified === false ? "unverified" : "unknown") as SessionTrust,
    };
  });
  return rows.sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    const byTime = (b.lastSeenTs ?? 0) - (a.lastSeenTs ?? 0);
    return byTime !== 0 ? byTime : a.deviceId.localeCompare(b.deviceId);
  });
}

/** A session name the server accepts (the spec sets no limit; we keep it readable). */
export function validSessionName(name: string): string | null {
  const trimmed = name.trim();
  return trimmed.length > 0 && trimmed.length <= 100 ? trimmed : null;
}

export interface UiaChallenge {
  session: string | null;
  /** The password stage is one of the flows the server offers. */
  passwordAllowed: boolean;
  /** The server said the previous password was wrong. */
  wrongPassword: boolean;
}

/** Read a 401 UIA answer (`{session, flows, errcode?}`); null when it is not one. */
export function uiaChallenge(status: number | undefined, data: unknown): UiaChallenge | null {
  if (status !== 401 || !data || typeof data !== "object") return null;
  const body = data as Record<string, unknown>;
  if (!Array.isArray(body.flows)) return null;
  const passwordAllowed = body.flows.some(
    (f) =>
      f &&
      typeof f === "object" &&
      Array.isArray((f as Record<string, unknown>).stages) &&
      ((f as { stages: unknown[] }).stages.length === 1) &&
      (f as { stages: unknown[] }).stages[0] === "m.login.password",
  );
  return {
    session: typeof body.session === "string" ? body.session : null,
    passwordAllowed,
    wrongPassword: body.errcode === "M_FORBIDDEN",
  };
}

/** The `auth` object of the password stage. */
export function passwordAuth(userId: string, password: string, session: string | null): Record<string, unknown> {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: userId },
    password,
    ...(session ? { session } : {}),
  };
}
