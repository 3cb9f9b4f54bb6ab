/**
 * The account's sessions (devices) with their verification status; rename
 * and sign out (DELETE /devices/{id} needs the password through UIA).
 */
import type { MatrixClient } from "matrix-js-sdk";
import type { AuthDict } from "matrix-js-sdk";
import { CryptoEvent } from "matrix-js-sdk/lib/crypto-api";
import { Store } from "./store";
import type { PasswordPrompt } from "./crypto";
import { passwordAuth, sessionRows, uiaChallenge, validSessionName, type SessionRow } from "./cryptoSessionsState";

export type SignOutResult = "done" | "cancelled";

export class SessionManager {
  readonly rows = new Store<SessionRow[] | null>(null);
  readonly failed = new Store<boolean>(false);
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly client: MatrixClient,
    private readonly askPassword: PasswordPrompt,
  ) {}

  /** Load now and reload when devices or trust change. */
  watch(): () => void {
    const reload = () => void this.load();
    this.client.on(CryptoEvent.DevicesUpdated, reload);
    this.client.on(CryptoEvent.UserTrustStatusChanged, reload);
    this.stops.push(() => {
      this.client.off(CryptoEvent.DevicesUpdated, reload);
      this.client.off(CryptoEvent.UserTrustStatusChanged, reload);
    });
    void this.load();
    return () => {
      for (const stop of this.stops.splice(0)) stop();
    };
  }

  async load(): Promise<void> {
    const me = this.client.getSafeUserId();
    try {
      const { devices } = await this.client.getDevices();
      const crypto = this.client.getCrypto();
      const trust = new Map<string, boolean | null>();
      await Promise.all(
        devices.map(async (d) => {
          const status = crypto ? await crypto.getDeviceVerificationStatus(me, d.device_id).catch(() => null) : null;
          trust.set(d.device_id, status ? status.crossSigningVerified : null);
        }),
      );
      this.rows.set(sessionRows(devices, this.client.getDeviceId() ?? "", trust));
      this.failed.set(false);
    } catch {
      this.failed.set(true);
    }
  }

  /** PUT /devices/{id} with a new display name. */
  async rename(deviceId: string, name: string): Promise<boolean> {
    const valid = validSessionName(name);
    if (!valid) return false;
    await this.client.setDeviceDetails(deviceId, { display_name: valid });
    await this.load();
    return true;
  }

  /** DELETE /devices/{id}: first without auth to get the UIA session, then with the password. */
  async signOut(deviceId: string): Promise<SignOutResult> {
    let auth: AuthDict | undefined;
    for (;;) {
      try {
        await this.client.deleteDevice(deviceId, auth);
        await this.load();
        return "done";
      } catch (error) {
        const challenge = uiaChallenge((error as { httpStatus?: number }).httpStatus, (error as { data?: unknown }).data);
        if (!challenge?.passwordAllowed) throw error;
        const password = await this.askPassword("signOut", auth !== undefined || challenge.wrongPassword);
        if (password === null) return "cancelled";
        auth = passwordAuth(this.client.getSafeUserId(), password, challenge.session) as AuthDict;
      }
    }
  }
}
