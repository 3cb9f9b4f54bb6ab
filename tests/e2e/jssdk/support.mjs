// What the command modules share: the named clients, polling, UIA, and how events are reported.
import * as sdk from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";
import { RustBackupManager } from "matrix-js-sdk/lib/rust-crypto/backup.js";

logger.setLevel(process.env.JSSDK_LOG_LEVEL ?? "info");
// The SDK waits a random 0-10 s before uploading keys to the backup, to spread
// the load of many clients; one test client has no need, and tests run faster.
RustBackupManager.maxBackupLoopStartDelayMillis = 0;

export { sdk };
export const clients = new Map(); // name -> { client, secretKey, recoveryKey, password }

// Generous: CI machines are shared, and a wait only lasts this long when something is wrong.
export const WAIT_MS = 30000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something truthy; fails with `describe()` after `timeoutMs`. */
export async function until(probe, what, timeoutMs = WAIT_MS, describe = () => "", everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}. ${describe()}`);
}

export function get(name) {
  const entry = clients.get(name);
  if (!entry) throw new Error(`no client named ${name}`);
  return entry;
}

/** The UIA callback: first try without auth, then answer the session with the password. */
export function passwordAuth(userId, password) {
  return async (makeRequest) => {
    try {
      return await makeRequest(null);
    } catch (error) {
      const session = error?.data?.session;
      if (error?.httpStatus !== 401 || !session) throw error;
      const identifier = { type: "m.id.user", user: userId };
      return await makeRequest({ type: "m.login.password", identifier, password, session });
    }
  };
}

/** What a test needs to know about one event, decrypted or not. */
export function describe(event) {
  return {
    eventId: event.getId(),
    sender: event.getSender(),
    type: event.getType(),
    encrypted: event.isEncrypted(),
    // A failed decryption shows a "** Unable to decrypt **" body: report none.
    body: event.isDecryptionFailure() ? null : (event.getContent()?.body ?? null),
    failure: event.decryptionFailureReason ?? null,
  };
}
