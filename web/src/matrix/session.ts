/**
 * The logged-in session: creates the MatrixClient from stored credentials,
 * starts the Rust crypto (its WASM is fetched here, after login), syncs, and
 * exposes view-state stores and actions to the UI. Loaded as its own chunk.
 */
import {
  ClientEvent,
  createClient,
  HttpApiEvent,
  MatrixEventEvent,
  RoomEvent,
  PendingEventOrdering,
  SyncState,
  UserEvent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
  type User,
} from "matrix-js-sdk";
import type { ClientConfig } from "../config";
import { watchExpiry } from "./accountValidity";
import { connectionState, type ConnectionState } from "./connection";
import { CallManager } from "./calls";
import { clearCredentials, type Credentials } from "./credentials";
import { ExternalUsers, isExternalProfile } from "./externals";
import { GroupCallManager } from "./groupCalls";
import { localpart } from "./eventMapper";
import { SecretKeyCache } from "./crypto";
import { CryptoFeatures } from "./cryptoFeatures";
import { createMediaResolver, type MediaResolver } from "./media";
import { RoomActions } from "./roomActions";
import { RoomListBinder } from "./roomListBinder";
import { RoomPolicy } from "./roomPolicy";
import { changePassword } from "./passwordChange";
import { RoomViewModel } from "./roomView";
import { Store } from "./store";

export interface Profile {
  userId: string;
  displayName: string;
  avatarMxc: string | null;
}

export interface Notice {
  roomId: string;
  roomName: string;
  senderName: string;
  body: string | null;
}

export type CryptoStatus = "starting" | "ready" | "unavailable";

export class MatrixSession {
  readonly client: MatrixClient;
  readonly userId: string;
  readonly deviceId: string;
  readonly connection = new Store<ConnectionState>("connecting");
  readonly ready = new Store<boolean>(false);
  readonly crypto = new Store<CryptoStatus>("starting");
  readonly profile: Store<Profile>;
  readonly loggedOut = new Store<boolean>(false);
  /** The account has expired (403 ORG_MATRIX_EXPIRED_ACCOUNT on some request): only renewal and logout work. */
  readonly expired = new Store<boolean>(false);
  readonly media: MediaResolver;
  /** Encryption (setup, verification, sessions) and files: see cryptoFeatures.ts. */
  readonly e2ee: CryptoFeatures;
  readonly roomList: RoomListBinder;
  readonly actions: RoomActions;
  /** The state's room rules: access rule, email invitations (roomPolicy.ts). */
  readonly roomPolicy: RoomPolicy;
  /** Who is an external partner (profiles' policy mark), asked once per user. */
  readonly externals: ExternalUsers;
  readonly calls: CallManager;
  readonly groupCalls: GroupCallManager;
  private syncState: string | null = null;
  private readonly stops: (() => void)[] = [];

  constructor(
    readonly credentials: Credentials,
    readonly config: ClientConfig,
  ) {
    this.userId = credentials.userId;
    this.deviceId = credentials.deviceId;
    const secretKeys = new SecretKeyCache();
    this.client = createClient({
      cryptoCallbacks: secretKeys.callbacks,
      baseUrl: credentials.baseUrl,
      accessToken: credentials.accessToken,
      userId: credentials.userId,
      deviceId: credentials.deviceId,
      timelineSupport: true,
      // Group call signalling goes to-device; the SDK cannot Olm-encrypt it with the Rust crypto yet.
      useE2eForGroupCall: false,
      fetchFn: watchExpiry(
        (input, init) => fetch(input, init),
        () => this.expired.set(true),
      ),
    });
    this.media = createMediaResolver(credentials.baseUrl, credentials.accessToken);
    this.e2ee = new CryptoFeatures(this.client, secretKeys, {
      baseUrl: credentials.baseUrl,
      accessToken: credentials.accessToken,
      uploadLimit: config.uploadLimit,
      scanEncrypted: config.features.content_scanner === true,
    });
    this.profile = new Store<Profile>({ userId: this.userId, displayName: localpart(this.userId), avatarMxc: null });
    this.externals = new ExternalUsers((userId) => this.client.getProfileInfo(userId), this.userId);
    this.roomList = new RoomListBinder(this.client, this.externals);
    this.actions = new RoomActions(this.client, this.externals);
    this.roomPolicy = new RoomPolicy(this.client);
    this.calls = new CallManager(this.client);
    this.groupCalls = new GroupCallManager(this.client);
  }

  /** Start crypto then sync; resolves once the first sync is processed. */
  async start(): Promise<void> {
    try {
      await this.client.initRustCrypto({ cryptoDatabasePrefix: "sceau" });
      this.crypto.set("ready");
      this.e2ee.start();
    } catch (error) {
      console.error("Rust crypto could not start", error);
      this.crypto.set("unavailable");
    }
    const onSync = (state: SyncState) => {
      this.syncState = state;
      this.updateConnection();
      if (state === SyncState.Prepared || state === SyncState.Syncing) this.ready.set(true);
    };
    const onOnline = () => this.updateConnection();
    const onLoggedOut = () => {
      void this.forget();
    };
    const onProfile = (_event: MatrixEvent | undefined, user: User) => {
      if (user.userId === this.userId) this.refreshProfile();
    };
    this.client.on(ClientEvent.Sync, onSync);
    this.client.on(HttpApiEvent.SessionLoggedOut, onLoggedOut);
    this.client.on(UserEvent.DisplayName, onProfile);
    this.client.on(UserEvent.AvatarUrl, onProfile);
    window.addEventListener("online", onOnline);
    window.addEventListener("offline", onOnline);
    this.stops.push(() => {
      window.removeEventListener("online", onOnline);
      window.removeEventListener("offline", onOnline);
    });
    void this.loadProfile();
    await this.client.startClient({
      initialSyncLimit: 20,
      lazyLoadMembers: true,
      threadSupport: true,
      pendingEventOrdering: PendingEventOrdering.Detached,
    });
  }

  private updateConnection(): void {
    this.connection.set(connectionState(this.syncState, navigator.onLine));
  }

  private async loadProfile(): Promise<void> {
    try {
      const info = await this.client.getProfileInfo(this.userId);
      this.externals.learn(this.userId, isExternalProfile(info));
      this.profile.set({
        userId: this.userId,
        displayName: info.displayname || localpart(this.userId),
        avatarMxc: info.avatar_url ?? null,
      });
    } catch {
      this.refreshProfile();
    }
  }

  private refreshProfile(): void {
    const user = this.client.getUser(this.userId);
    if (!user) return;
    const name = user.displayName && user.displayName !== this.userId ? user.displayName : localpart(this.userId);
    this.profile.set({ userId: this.userId, displayName: name, avatarMxc: user.avatarUrl ?? null });
  }

  async setDisplayName(name: string): Promise<void> {
    await this.client.setDisplayName(name);
    this.profile.update((p) => ({ ...p, displayName: name }));
  }

  async setAvatar(file: File): Promise<void> {
    const { content_uri: uri } = await this.client.uploadContent(file, { type: file.type });
    await this.client.setAvatarUrl(uri);
    this.profile.update((p) => ({ ...p, avatarMxc: uri }));
  }

  /** What the profile settings may change, per the server's capabilities. */
  async profileCapabilities(): Promise<{ displayName: boolean; avatar: boolean }> {
    try {
      const caps = (await this.client.getCapabilities()) as Record<string, { enabled?: boolean } | undefined>;
      return {
        displayName: caps["m.set_displayname"]?.enabled !== false,
        avatar: caps["m.set_avatar_url"]?.enabled !== false,
      };
    } catch {
      return { displayName: true, avatar: true };
    }
  }

  /** New messages from others that the push rules say to notify. */
  onNotify(listener: (notice: Notice) => void): () => void {
    const check = (event: MatrixEvent, room: Room) => {
      if (event.getSender() === this.userId || event.isDecryptionFailure()) return;
      if (!this.client.getPushActionsForEvent(event)?.notify) return;
      const body = event.getContent().body;
      listener({
        roomId: room.roomId,
        roomName: room.name,
        senderName: room.getMember(event.getSender() ?? "")?.name ?? event.getSender() ?? "",
        body: typeof body === "string" ? body.slice(0, 200) : null,
      });
    };
    const onTimeline = (event: MatrixEvent, room: Room | undefined, toStart: boolean | undefined, _removed: boolean, data: { liveEvent?: boolean }) => {
      if (!room || toStart || !data.liveEvent || !this.ready.get()) return;
      if (event.isEncrypted() && event.isBeingDecrypted()) {
        event.once(MatrixEventEvent.Decrypted, () => check(event, room));
      } else if (event.getType() === "m.room.message") {
        check(event, room);
      }
    };
    this.client.on(RoomEvent.Timeline, onTimeline);
    return () => {
      this.client.off(RoomEvent.Timeline, onTimeline);
    };
  }

  openRoom(roomId: string, threadId: string | null = null): RoomViewModel | null {
    const room = this.client.getRoom(roomId);
    return room ? new RoomViewModel(this.client, room, threadId, this.externals) : null;
  }

  /** True when logging out would lose message keys: no server-side backup is active. */
  async keysAtRisk(): Promise<boolean> {
    if (!this.client.getCrypto()) return false;
    return this.e2ee.encryption.keysAtRisk();
  }

  /** Change the password (the current one proves it is us); other sessions stay signed in. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await changePassword(this.client, currentPassword, newPassword);
  }

  async logout(): Promise<void> {
    try {
      await this.client.logout(true);
    } catch {
      // the token may already be gone; forget locally anyway
    }
    await this.forget();
  }

  /** Drop everything local: stores, crypto database, credentials. */
  private async forget(): Promise<void> {
    this.stop();
    try {
      await this.client.clearStores();
    } catch {
      // best effort
    }
    await clearCredentials();
    this.loggedOut.set(true);
  }

  stop(): void {
    this.e2ee.stop();
    this.calls.dispose();
    this.groupCalls.dispose();
    this.client.stopClient();
    this.roomList.dispose();
    for (const stop of this.stops) stop();
  }
}

export async function startSession(credentials: Credentials, config: ClientConfig): Promise<MatrixSession> {
  const session = new MatrixSession(credentials, config);
  void session.start();
  return session;
}
