// The commands a test can send to driver.mjs. Each takes one object of
// arguments and returns something JSON-serialisable. Clients are named
// ("alice", "alice2"...) so one driver process can hold several devices.
import * as sdk from "matrix-js-sdk";
import { CryptoEvent, decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/index.js";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel(process.env.JSSDK_LOG_LEVEL ?? "info");

const MEGOLM = "m.megolm.v1.aes-sha2";
const DEHYDRATION_PREFIX = "/_matrix/client/unstable/org.matrix.msc3814.v1";
const clients = new Map(); // name -> { client, secretKey, recoveryKey, password }

// Generous: CI machines are shared, and a wait only lasts this long when something is wrong.
const WAIT_MS = 30000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something truthy; fails with `describe()` after `timeoutMs`. */
async function until(probe, what, timeoutMs = WAIT_MS, describe = () => "", everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}. ${describe()}`);
}

function get(name) {
  const entry = clients.get(name);
  if (!entry) throw new Error(`no client named ${name}`);
  return entry;
}

/** The UIA callback: first try without auth, then answer the session with the password. */
function passwordAuth(userId, password) {
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

function waitForFirstSync(client) {
  return new Promise((resolve, reject) => {
    client.on(sdk.ClientEvent.Sync, (state, _previous, data) => {
      if (state === sdk.SyncState.Prepared) resolve();
      if (state === sdk.SyncState.Error) reject(data?.error ?? new Error("sync failed"));
    });
  });
}

/** What a test needs to know about one event, decrypted or not. */
function describe(event) {
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

function liveMessages(client, roomId) {
  const room = client.getRoom(roomId);
  const events = room ? room.getLiveTimeline().getEvents() : [];
  return events
    .filter((e) => ["m.room.message", "m.room.encrypted"].includes(e.getType()))
    .filter((e) => !e.isBeingDecrypted())
    .map(describe);
}

export const commands = {
  version: () => ({ node: process.version, sdk: "matrix-js-sdk" }),

  /** m.login.password as a new device (or a given token), Rust crypto in memory, first sync done. */
  async login({ name, baseUrl, userId, password, deviceName, recoveryKey, session }) {
    const anonymous = sdk.createClient({ baseUrl });
    const login =
      session ??
      (await anonymous.loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: userId },
        password,
        initial_device_display_name: deviceName ?? name,
      }));
    const entry = { password, recoveryKey: recoveryKey ?? null };
    entry.secretKey = recoveryKey ? decodeRecoveryKey(recoveryKey) : null;
    const client = sdk.createClient({
      baseUrl,
      userId: login.user_id,
      deviceId: login.device_id,
      accessToken: login.access_token,
      cryptoCallbacks: {
        getSecretStorageKey: async ({ keys }) => {
          const keyId = Object.keys(keys)[0];
          return entry.secretKey ? [keyId, entry.secretKey] : null;
        },
      },
    });
    entry.client = client;
    clients.set(name, entry);
    await client.initRustCrypto({ useIndexedDB: false });
    const synced = waitForFirstSync(client);
    await client.startClient({ initialSyncLimit: 20 });
    await synced;
    return { userId: login.user_id, deviceId: login.device_id, accessToken: login.access_token };
  },

  /** `encrypted` asks for encryption; `expectEncrypted` is what the room must end up as. */
  async createRoom({ name, invite = [], encrypted = true, expectEncrypted = encrypted }) {
    const { client } = get(name);
    const initial_state = encrypted
      ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: MEGOLM } }]
      : [];
    const { room_id: roomId } = await client.createRoom({ invite, initial_state });
    await commands.waitForRoom({ name, roomId, encrypted: expectEncrypted });
    return roomId;
  },

  /** A state event; a refusal is returned (not thrown) so the test can check it. */
  async sendState({ name, roomId, type, content, stateKey = "" }) {
    try {
      const { event_id: eventId } = await get(name).client.sendStateEvent(
        roomId, type, content, stateKey,
      );
      return { eventId };
    } catch (error) {
      return { status: error.httpStatus ?? null, errcode: error.errcode ?? String(error) };
    }
  },

  async isEncrypted({ name, roomId }) {
    return await get(name).client.getCrypto().isEncryptionEnabledInRoom(roomId);
  },

  async join({ name, roomId, encrypted = true }) {
    await get(name).client.joinRoom(roomId);
    await commands.waitForRoom({ name, roomId, encrypted });
    return roomId;
  },

  /** Until the client's store has the room joined (and knows it is encrypted). */
  async waitForRoom({ name, roomId, encrypted = false, membership = "join" }) {
    const { client } = get(name);
    await until(async () => {
      const room = client.getRoom(roomId);
      if (room?.getMyMembership() !== membership) return false;
      return !encrypted || (await client.getCrypto().isEncryptionEnabledInRoom(roomId));
    }, `${name} to have ${roomId} as ${membership}${encrypted ? " and encrypted" : ""}`);
    return roomId;
  },

  async waitForMember({ name, roomId, userId, membership = "join" }) {
    const { client } = get(name);
    await until(
      () => client.getRoom(roomId)?.getMember(userId)?.membership === membership,
      `${userId} to be ${membership} in ${roomId} as seen by ${name}`,
    );
    return true;
  },

  async send({ name, roomId, body }) {
    const { event_id: eventId } = await get(name).client.sendTextMessage(roomId, body);
    return eventId;
  },

  /** Until a message with `body` is in the live timeline, decrypted. */
  async waitForMessage({ name, roomId, body, timeoutMs = WAIT_MS }) {
    const { client } = get(name);
    return await until(
      () => liveMessages(client, roomId).find((m) => m.body === body),
      `"${body}" in ${roomId} as seen by ${name}`,
      timeoutMs,
      () => `Timeline: ${JSON.stringify(liveMessages(client, roomId))}`,
    );
  },

  /** The room's latest messages fetched with /messages and decrypted now, oldest first. */
  async history({ name, roomId, limit = 50 }) {
    const { client } = get(name);
    const page = await client.createMessagesRequest(roomId, null, limit, sdk.Direction.Backward);
    const events = page.chunk
      .filter((raw) => ["m.room.message", "m.room.encrypted"].includes(raw.type))
      .map((raw) => new sdk.MatrixEvent({ ...raw, room_id: roomId }));
    for (const event of events) await client.decryptEventIfNeeded(event);
    return events.reverse().map(describe);
  },

  /** Cross-signing (UIA with the password), secret storage and a new key backup. */
  async bootstrap({ name }) {
    const entry = get(name);
    const crypto = entry.client.getCrypto();
    const userId = entry.client.getUserId();
    await crypto.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: passwordAuth(userId, entry.password),
    });
    await crypto.bootstrapSecretStorage({
      createSecretStorageKey: async () => {
        const key = await crypto.createRecoveryKeyFromPassphrase();
        entry.secretKey = key.privateKey;
        entry.recoveryKey = key.encodedPrivateKey;
        return key;
      },
      setupNewSecretStorage: true,
      setupNewKeyBackup: true,
    });
    return {
      crossSigningReady: await crypto.isCrossSigningReady(),
      secretStorageReady: await crypto.isSecretStorageReady(),
      backupVersion: await crypto.getActiveSessionBackupVersion(),
      recoveryKey: entry.recoveryKey,
    };
  },

  /**
   * Until the client backs up to `version` (default: its active one) and the
   * server holds at least `sessions` megolm sessions there.
   */
  async waitForBackup({ name, sessions = 1, version = null, timeoutMs = WAIT_MS }) {
    const { client } = get(name);
    const crypto = client.getCrypto();
    let active = null;
    await until(
      async () => {
        active = await crypto.getActiveSessionBackupVersion();
        return active && (version === null || active === version);
      },
      `${name} to back up to version ${version ?? "(any)"}`,
      timeoutMs,
      () => `Active: ${active}.`,
    );
    version = active;
    let count = 0;
    await until(
      async () => {
        const all = await client.http.authedRequest(sdk.Method.Get, "/room_keys/keys", {
          version,
        });
        count = Object.values(all.rooms ?? {}).reduce(
          (sum, room) => sum + Object.keys(room.sessions ?? {}).length,
          0,
        );
        return count >= sessions;
      },
      `${sessions} session(s) in backup ${version}`,
      timeoutMs,
      () => `The backup holds ${count}.`,
    );
    return { version, sessions: count };
  },

  /** A new backup version (old ones deleted), its key stored in secret storage. */
  async resetBackup({ name }) {
    const crypto = get(name).client.getCrypto();
    await crypto.resetKeyBackup();
    return { version: await crypto.getActiveSessionBackupVersion() };
  },

  /** The next message in the room starts a new megolm session. */
  async forceDiscardSession({ name, roomId }) {
    await get(name).client.getCrypto().forceDiscardSession(roomId);
    return true;
  },

  /** The backup key from secret storage, without restoring: sessions then come on demand. */
  async loadBackupKey({ name }) {
    const crypto = get(name).client.getCrypto();
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    const check = await crypto.checkKeyBackupAndEnable();
    return { version: check?.backupInfo?.version ?? null };
  },

  /** Until every message of /messages decrypts (keys may arrive meanwhile). */
  async waitForHistoryDecrypted({ name, roomId, timeoutMs = WAIT_MS }) {
    let last = [];
    await until(
      async () => {
        last = await commands.history({ name, roomId });
        return last.length > 0 && last.every((m) => m.failure === null);
      },
      `every message of ${roomId} to decrypt at ${name}`,
      timeoutMs,
      () => `Last: ${JSON.stringify(last)}`,
      500, // each try is a /messages request
    );
    return last;
  },

  /** The backup key from secret storage (via the recovery key), then every session. */
  async restoreBackup({ name }) {
    const crypto = get(name).client.getCrypto();
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    const check = await crypto.checkKeyBackupAndEnable();
    const result = await crypto.restoreKeyBackup();
    return { version: check?.backupInfo?.version ?? null, ...result };
  },

  /** Until `name` knows the device (from its own device-list tracking, no forced query). */
  async waitForDevice({ name, userId, deviceId }) {
    const crypto = get(name).client.getCrypto();
    let known = [];
    await until(
      async () => {
        const devices = (await crypto.getUserDeviceInfo([userId])).get(userId);
        known = [...(devices?.keys() ?? [])];
        return known.includes(deviceId);
      },
      `${name} to learn of ${userId}'s device ${deviceId}`,
      WAIT_MS,
      () => `Known devices: ${JSON.stringify(known)}`,
    );
    return known;
  },

  /** A new device takes the cross-signing keys from secret storage and signs itself. */
  async crossSignFromSecretStorage({ name }) {
    const entry = get(name);
    const crypto = entry.client.getCrypto();
    // The public keys first (/keys/query), as a client does before importing private ones.
    if (!(await crypto.userHasCrossSigningKeys(undefined, true))) {
      throw new Error("/keys/query shows no cross-signing keys for the user");
    }
    await crypto.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: passwordAuth(entry.client.getUserId(), entry.password),
    });
    return await crypto.isCrossSigningReady();
  },

  /** Until `name` sees the device as verified by its owner's cross-signing key. */
  async waitForCrossSignedDevice({ name, userId, deviceId, timeoutMs = WAIT_MS }) {
    const crypto = get(name).client.getCrypto();
    let status = null;
    await until(
      async () => {
        status = await crypto.getDeviceVerificationStatus(userId, deviceId);
        return status?.crossSigningVerified;
      },
      `${name} to see ${userId}'s ${deviceId} cross-signed`,
      timeoutMs,
      () => `Last status: ${JSON.stringify(status)}`,
    );
    return true;
  },

  /** MSC3814: a new dehydration key in secret storage, and a dehydrated device on the server. */
  async dehydrate({ name }) {
    const { client } = get(name);
    const crypto = client.getCrypto();
    if (!(await crypto.isDehydrationSupported())) throw new Error("dehydration not supported");
    await crypto.startDehydration({ createNewKey: true, rehydrate: false });
    const device = await client.http.authedRequest(
      sdk.Method.Get, "/dehydrated_device", undefined, undefined, { prefix: DEHYDRATION_PREFIX },
    );
    return { deviceId: device.device_id };
  },

  /** Rehydrates the dehydrated device (key from secret storage): its to-device keys become ours. */
  async rehydrate({ name }) {
    const { client } = get(name);
    const outcome = { completed: false, error: null, roomKeys: 0, toDevice: 0 };
    const progress = (roomKeys, toDevice) => Object.assign(outcome, { roomKeys, toDevice });
    const completed = () => (outcome.completed = true);
    const failed = (message) => (outcome.error = message);
    client.on(CryptoEvent.RehydrationProgress, progress);
    client.on(CryptoEvent.RehydrationCompleted, completed);
    client.on(CryptoEvent.RehydrationError, failed);
    try {
      await client.getCrypto().startDehydration({ rehydrate: true });
    } finally {
      client.off(CryptoEvent.RehydrationProgress, progress);
      client.off(CryptoEvent.RehydrationCompleted, completed);
      client.off(CryptoEvent.RehydrationError, failed);
    }
    return outcome;
  },

  /** What the device knows of its user's cross-signing, after asking /keys/query afresh. */
  async crossSigningStatus({ name }) {
    const crypto = get(name).client.getCrypto();
    return {
      userHasKeys: await crypto.userHasCrossSigningKeys(undefined, true),
      ready: await crypto.isCrossSigningReady(),
      status: await crypto.getCrossSigningStatus(),
    };
  },

  stop({ name }) {
    get(name).client.stopClient();
    clients.delete(name);
    return true;
  },

  quit() {
    for (const { client } of clients.values()) client.stopClient();
    clients.clear();
    return true;
  },
};
