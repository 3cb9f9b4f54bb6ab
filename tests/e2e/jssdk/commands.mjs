// The commands a test can send to driver.mjs. Each takes one object of
// arguments and returns something JSON-serialisable. Clients are named
// ("alice", "phone"...) so one driver process can hold several devices.
import { decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/index.js";

import { keyCommands } from "./keys.mjs";
import { slidingCommands } from "./sliding.mjs";
import { WAIT_MS, clients, describe, get, sdk, until } from "./support.mjs";

const MEGOLM = "m.megolm.v1.aes-sha2";

function waitForFirstSync(client) {
  return new Promise((resolve, reject) => {
    client.on(sdk.ClientEvent.Sync, (state, _previous, data) => {
      if (state === sdk.SyncState.Prepared) resolve();
      if (state === sdk.SyncState.Error) reject(data?.error ?? new Error("sync failed"));
    });
  });
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

  ...keyCommands,
  ...slidingCommands,

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
