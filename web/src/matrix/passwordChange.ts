/**
 * Changing one's password (POST /account/password): user-interactive auth
 * with the current password, other sessions kept. The server refuses a weak
 * new password with one of the M_PASSWORD_* errcodes (issue #11).
 */
import type { MatrixClient } from "matrix-js-sdk";

/** The UIA body that proves the current password. */
export function passwordAuth(userId: string, currentPassword: string, session?: string) {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: userId },
    password: currentPassword,
    ...(session ? { session } : {}),
  };
}

/** The UIA session of a 401 answer, to retry once with the password. */
function uiaSession(error: unknown): string | undefined {
  const data = (error as { httpStatus?: number; data?: { session?: unknown; flows?: unknown } } | null) ?? null;
  if (data?.httpStatus !== 401 || !data.data || !Array.isArray(data.data.flows)) return undefined;
  return typeof data.data.session === "string" ? data.data.session : undefined;
}

export async function changePassword(client: MatrixClient, currentPassword: string, newPassword: string): Promise<void> {
  const userId = client.getSafeUserId();
  try {
    await client.setPassword(passwordAuth(userId, currentPassword), newPassword, false);
  } catch (error) {
    const session = uiaSession(error);
    if (!session) throw error;
    await client.setPassword(passwordAuth(userId, currentPassword, session), newPassword, false);
  }
}
