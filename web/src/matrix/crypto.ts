/**
 * End-to-end encryption that users do not lose: at the account's first login
 * this session creates cross-signing, secret storage and a key backup, and
 * the recovery key is shown once; a later session verifies itself with that
 * key (then restores the backup) or by emoji from another session. Facts are
 * re-read on every crypto event so the UI state (cryptoSetupState) stays true.
 */
import { ClientEvent, type MatrixClient } from "matrix-js-sdk";
import {
  CryptoEvent,
  decodeRecoveryKey,
  ImportRoomKeyStage,
  type CryptoCallbacks,
  type GeneratedSecretStorageKey,
} from "matrix-js-sdk/lib/crypto-api";
import type { AuthDict } from "matrix-js-sdk";
import { Store } from "./store";
import {
  encryptionState,
  logoutLosesKeys,
  normaliseRecoveryKey,
  type CryptoFacts,
  type EncryptionState,
} from "./cryptoSetupState";
import { passwordAuth, uiaChallenge } from "./cryptoSessionsState";

/** Secret-storage keys known for this page: given to the SDK when it asks, never persisted. */
export class SecretKeyCache {
  private keys = new Map<string, Uint8Array<ArrayBuffer>>();

  readonly callbacks: CryptoCallbacks = {
    getSecretStorageKey: async ({ keys }) => {
      for (const keyId of Object.keys(keys)) {
        const key = this.keys.get(keyId);
        if (key) return [keyId, key];
      }
      return null;
    },
    cacheSecretStorageKey: (keyId, _info, key) => {
      this.keys.set(keyId, key);
    },
  };

  remember(keyId: string, key: Uint8Array<ArrayBuffer>): void {
    this.keys.set(keyId, key);
  }

  clear(): void {
    this.keys.clear();
  }
}

/** Asks the user for their password (UIA); null when they cancel. */
export type PasswordPrompt = (reason: "crossSigning" | "signOut", wrong: boolean) => Promise<string | null>;

export interface RestoreProgress {
  imported: number;
  total: number;
  done: boolean;
}

export type RecoveryKeyError = "malformed" | "wrong" | "noSecretStorage" | "failed";

export class RecoveryKeyRejected extends Error {
  constructor(readonly reason: RecoveryKeyError) {
    super(reason);
  }
}

export class EncryptionController {
  readonly facts = new Store<CryptoFacts | null>(null);
  readonly state = new Store<EncryptionState>("checking");
  /** The recovery key just created, shown once then forgotten. */
  readonly newRecoveryKey = new Store<string | null>(null);
  readonly busy = new Store<boolean>(false);
  readonly restore = new Store<RestoreProgress | null>(null);
  readonly error = new Store<string | null>(null);
  private readonly stops: (() => void)[] = [];
  private refreshing: Promise<void> | null = null;
  private pendingRefresh: Promise<void> | null = null;
  private autoSetupTried = false;
  /** This session is creating the backup: nothing to restore from it. */
  private creatingBackup = false;
  private restoring = false;

  constructor(
    private readonly client: MatrixClient,
    readonly keys: SecretKeyCache,
    private readonly askPassword: PasswordPrompt,
  ) {}

  private get crypto() {
    return this.client.getCrypto();
  }

  /** Listen to the crypto stack and read the first facts. Call after initRustCrypto. */
  start(): void {
    const crypto = this.crypto;
    if (!crypto) {
      this.state.set("unavailable");
      return;
    }
    const onChange = () => void this.refresh();
    const onBackupKey = () => void this.enableBackupAndRestore();
    const events = [
      CryptoEvent.KeysChanged,
      CryptoEvent.UserTrustStatusChanged,
      CryptoEvent.DevicesUpdated,
      CryptoEvent.KeyBackupStatus,
    ] as const;
    for (const event of events) this.client.on(event, onChange);
    this.client.on(CryptoEvent.KeyBackupDecryptionKeyCached, onBackupKey);
    this.client.on(ClientEvent.Sync, onChange);
    this.stops.push(() => {
      for (const event of events) this.client.off(event, onChange);
      this.client.off(CryptoEvent.KeyBackupDecryptionKeyCached, onBackupKey);
      this.client.off(ClientEvent.Sync, onChange);
    });
    void this.refresh();
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.keys.clear();
  }

  /**
   * Re-read the facts: one read at a time, and a call made during a read gets
   * one more read after it, so the answer is never older than the call.
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.pendingRefresh ??= this.refreshing.then(() => {
        this.pendingRefresh = null;
        return this.refresh();
      });
      return this.pendingRefresh;
    }
    this.refreshing = this.readFacts().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async readFacts(): Promise<void> {
    const crypto = this.crypto;
    if (!crypto) return;
    const userId = this.client.getSafeUserId();
    const deviceId = this.client.getDeviceId() ?? "";
    try {
      const [crossSigningOnServer, status, backupInfo, activeBackup] = await Promise.all([
        crypto.userHasCrossSigningKeys(userId, true),
        crypto.getDeviceVerificationStatus(userId, deviceId),
        crypto.getKeyBackupInfo(),
        crypto.getActiveSessionBackupVersion(),
      ]);
      const facts: CryptoFacts = {
        crossSigningOnServer,
        thisSessionVerified: Boolean(status?.crossSigningVerified),
        backupOnServer: backupInfo !== null,
        backupActive: activeBackup !== null,
      };
      this.facts.set(facts);
      this.state.set(encryptionState(facts));
      if (this.state.get() === "needsSetup" && !this.autoSetupTried) {
        // First login of the account: nothing to lose, set everything up now.
        this.autoSetupTried = true;
        void this.setUpEncryption();
      }
    } catch (error) {
      console.warn("could not read the encryption state", error);
    }
  }

  /** Whether logging out now would lose message keys (no active backup). */
  async keysAtRisk(): Promise<boolean> {
    await this.refresh();
    return logoutLosesKeys(this.facts.get());
  }

  /** UIA for uploading cross-signing keys: try without auth, then with the password. */
  private authUpload = async (makeRequest: (auth: AuthDict | null) => Promise<unknown>): Promise<void> => {
    try {
      await makeRequest(null);
      return;
    } catch (error) {
      let challenge = uiaChallenge((error as { httpStatus?: number }).httpStatus, (error as { data?: unknown }).data);
      while (challenge?.passwordAllowed) {
        const password = await this.askPassword("crossSigning", challenge.wrongPassword);
        if (password === null) throw error;
        try {
          await makeRequest(passwordAuth(this.client.getSafeUserId(), password, challenge.session) as AuthDict);
          return;
        } catch (retry) {
          const next = uiaChallenge((retry as { httpStatus?: number }).httpStatus, (retry as { data?: unknown }).data);
          if (!next) throw retry;
          challenge = { ...next, wrongPassword: true };
        }
      }
      throw error;
    }
  };

  /**
   * First login (or no backup yet): create cross-signing keys, secret storage
   * protected by a new recovery key, and a key backup; publish the key once.
   */
  async setUpEncryption(): Promise<void> {
    const crypto = this.crypto;
    if (!crypto || this.busy.get()) return;
    this.busy.set(true);
    this.error.set(null);
    this.creatingBackup = true;
    try {
      let generated: GeneratedSecretStorageKey | null = null;
      await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: this.authUpload });
      await crypto.bootstrapSecretStorage({
        createSecretStorageKey: async () => {
          generated = await crypto.createRecoveryKeyFromPassphrase();
          return generated;
        },
        setupNewSecretStorage: true,
        setupNewKeyBackup: true,
      });
      await crypto.checkKeyBackupAndEnable();
      const key = (generated as GeneratedSecretStorageKey | null)?.encodedPrivateKey ?? null;
      if (key) this.newRecoveryKey.set(key);
    } catch (error) {
      console.error("encryption setup failed", error);
      this.error.set("crypto.setup.failed");
    } finally {
      this.creatingBackup = false;
      this.busy.set(false);
      await this.refresh();
    }
  }

  /** The user saved the key: forget it (it is shown only once). */
  recoveryKeySaved(): void {
    this.newRecoveryKey.set(null);
  }

  /**
   * Verify this session with the recovery key: unlock secret storage, take the
   * cross-signing keys from it (which signs this device), then the backup key,
   * and restore the backup so older messages decrypt.
   */
  async verifyWithRecoveryKey(input: string): Promise<void> {
    let key: Uint8Array<ArrayBuffer>;
    try {
      key = decodeRecoveryKey(normaliseRecoveryKey(input)) as Uint8Array<ArrayBuffer>;
    } catch {
      throw new RecoveryKeyRejected("malformed");
    }
    const crypto = this.crypto;
    if (!crypto) throw new RecoveryKeyRejected("failed");
    const keyId = await this.client.secretStorage.getDefaultKeyId();
    const described = keyId ? await this.client.secretStorage.getKey(keyId) : null;
    if (!keyId || !described) throw new RecoveryKeyRejected("noSecretStorage");
    if (!(await this.client.secretStorage.checkKey(key, described[1]))) throw new RecoveryKeyRejected("wrong");
    this.busy.set(true);
    try {
      this.keys.remember(keyId, key);
      await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: this.authUpload });
      try {
        await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
      } catch (error) {
        console.warn("no backup key in secret storage", error);
      }
      await this.enableBackupAndRestore();
    } catch (error) {
      console.error("verification with the recovery key failed", error);
      throw new RecoveryKeyRejected("failed");
    } finally {
      this.busy.set(false);
      await this.refresh();
    }
  }

  /** With the backup key known (recovery key or sent by another session): enable and restore. */
  private async enableBackupAndRestore(): Promise<void> {
    const crypto = this.crypto;
    if (!crypto || this.creatingBackup || this.restoring) return;
    this.restoring = true;
    try {
      const check = await crypto.checkKeyBackupAndEnable();
      if (!check?.backupInfo || !(await crypto.getSessionBackupPrivateKey())) return;
      this.restore.set({ imported: 0, total: 0, done: false });
      const result = await crypto.restoreKeyBackup({
        progressCallback: (p) => {
          if (p.stage === ImportRoomKeyStage.LoadKeys) {
            this.restore.set({ imported: p.successes + p.failures, total: p.total, done: false });
          }
        },
      });
      if (result.imported > 0) {
        this.restore.set({ imported: result.imported, total: result.total, done: true });
        setTimeout(() => this.restore.set(null), 10_000);
      } else {
        this.restore.set(null);
      }
    } catch (error) {
      console.warn("backup restore failed", error);
      this.restore.set(null);
    } finally {
      this.restoring = false;
      await this.refresh();
    }
  }
}
