// Commands for cross-signing, secret storage, key backup and dehydrated devices.
import { CryptoEvent } from "matrix-js-sdk/lib/crypto-api/index.js";

import { WAIT_MS, get, passwordAuth, sdk, until } from "./support.mjs";

const DEHYDRATION_PREFIX = "/_matrix/client/unstable/org.matrix.msc3814.v1";

export const keyCommands = {
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

  /** The backup key from secret storage (via the recovery key), then every session. */
  async restoreBackup({ name }) {
    const crypto = get(name).client.getCrypto();
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    const check = await crypto.checkKeyBackupAndEnable();
    const result = await crypto.restoreKeyBackup();
    return { version: check?.backupInfo?.version ?? null, ...result };
  },

  /**
   * Until `name` knows the device (or, with `present: false`, no longer does),
   * from its own device-list tracking: no forced /keys/query.
   */
  async waitForDevice({ name, userId, deviceId, present = true }) {
    const crypto = get(name).client.getCrypto();
    let known = [];
    await until(
      async () => {
        const devices = (await crypto.getUserDeviceInfo([userId])).get(userId);
        known = [...(devices?.keys() ?? [])];
        return known.includes(deviceId) === present;
      },
      `${name} to ${present ? "learn of" : "forget"} ${userId}'s device ${deviceId}`,
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

  /** Secrets that must never reach the server in the clear (for a search of its database). */
  async clientSecrets({ name }) {
    const key = await get(name).client.getCrypto().getSessionBackupPrivateKey();
    return { backupKey: key ? Buffer.from(key).toString("base64").replace(/=+$/, "") : null };
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
};
