/**
 * Emoji (SAS) verification, of this user's own sessions or of another user:
 * wraps a matrix-js-sdk VerificationRequest, drives it (accept, start SAS,
 * confirm) and publishes the step the UI shows (cryptoVerificationState).
 * Incoming requests are offered through `VerificationCenter.incoming`.
 */
import type { MatrixClient } from "matrix-js-sdk";
import {
  CryptoEvent,
  VerificationRequestEvent,
  VerifierEvent,
  type ShowSasCallbacks,
  type VerificationRequest,
  type Verifier,
} from "matrix-js-sdk/lib/crypto-api";
import { Store } from "./store";
import {
  isFinished,
  shouldStartSas,
  verificationStep,
  type VerificationSnapshot,
  type VerificationStep,
} from "./cryptoVerificationState";

const SAS = "m.sas.v1";

export class VerificationFlow {
  readonly step: Store<VerificationStep>;
  private sas: ShowSasCallbacks | null = null;
  private confirmed = false;
  private started = false;
  private verifying: Verifier | null = null;
  private closed = false;
  private cancelledHere = false;

  constructor(
    readonly request: VerificationRequest,
    private readonly myUserId: string,
    readonly onFinished: () => void = () => undefined,
  ) {
    this.step = new Store<VerificationStep>(verificationStep(this.snapshot()));
    request.on(VerificationRequestEvent.Change, this.onChange);
    this.onChange();
  }

  get otherUserId(): string {
    return this.request.otherUserId;
  }

  /** The other device, for a verification between two sessions (to-device). */
  get otherDeviceId(): string | null {
    return this.request.otherDeviceId ?? null;
  }

  get isSelfVerification(): boolean {
    return this.request.isSelfVerification;
  }

  private snapshot(): VerificationSnapshot {
    const r = this.request;
    return {
      phase: r.phase,
      initiatedByMe: r.initiatedByMe,
      isSelfVerification: r.isSelfVerification,
      otherUserId: r.otherUserId,
      otherDeviceId: r.otherDeviceId ?? null,
      accepting: r.accepting,
      declining: r.declining,
      emojis: this.sas?.sas.emoji ?? null,
      confirmed: this.confirmed,
      cancellationCode: r.cancellationCode,
      // For self-verification both sides are "me": only a cancel from this tab counts.
      cancelledByMe: this.cancelledHere || (!r.isSelfVerification && r.cancellingUserId === this.myUserId),
    };
  }

  private onChange = (): void => {
    const snap = this.snapshot();
    if (shouldStartSas(snap, this.started)) {
      this.started = true;
      this.request.startVerification(SAS).then(this.attachVerifier, (e) => console.warn("SAS start failed", e));
    }
    const verifier = this.request.verifier;
    if (verifier && verifier !== this.verifying) this.attachVerifier(verifier);
    this.publish();
  };

  private attachVerifier = (verifier: Verifier): void => {
    if (this.verifying === verifier) return;
    this.verifying = verifier;
    verifier.on(VerifierEvent.ShowSas, (sas) => {
      this.sas = sas;
      this.publish();
    });
    verifier.on(VerifierEvent.Cancel, () => this.publish());
    const existing = verifier.getShowSasCallbacks();
    if (existing) this.sas = existing;
    verifier.verify().then(
      () => this.publish(),
      () => this.publish(),
    );
  };

  private publish(): void {
    const step = verificationStep(this.snapshot());
    this.step.set(step);
    if (isFinished(step) && !this.closed) {
      this.closed = true;
      this.request.off(VerificationRequestEvent.Change, this.onChange);
      this.onFinished();
    }
  }

  /** Accept an incoming request (sends m.key.verification.ready). */
  async accept(): Promise<void> {
    await this.request.accept();
  }

  /** The emojis match on both screens. */
  async confirm(): Promise<void> {
    if (!this.sas) return;
    this.confirmed = true;
    this.publish();
    await this.sas.confirm();
  }

  /** The emojis differ: cancel with m.mismatched_sas. */
  mismatch(): void {
    this.cancelledHere = true;
    this.sas?.mismatch();
  }

  /** Stop (or decline) the verification. */
  cancel(): void {
    this.cancelledHere = true;
    if (this.sas) this.sas.cancel();
    else void this.request.cancel().catch(() => undefined);
  }
}

/** Starts verifications and offers incoming ones; one active flow at a time. */
export class VerificationCenter {
  /** The flow shown in the verification dialog (outgoing or accepted/offered incoming). */
  readonly active = new Store<VerificationFlow | null>(null);
  /** Bumped when someone's verification status changes (badges re-read it). */
  readonly trustChanges = new Store<number>(0);
  private readonly stops: (() => void)[] = [];

  constructor(private readonly client: MatrixClient) {}

  start(): void {
    const onRequest = (request: VerificationRequest) => {
      const current = this.active.get();
      if (current && !isFinished(current.step.get())) return; // busy: the other side will time out
      if (!request.pending || request.initiatedByMe) return;
      this.active.set(this.flow(request));
    };
    const onTrust = () => this.trustChanges.update((n) => n + 1);
    this.client.on(CryptoEvent.VerificationRequestReceived, onRequest);
    this.client.on(CryptoEvent.UserTrustStatusChanged, onTrust);
    this.stops.push(() => {
      this.client.off(CryptoEvent.VerificationRequestReceived, onRequest);
      this.client.off(CryptoEvent.UserTrustStatusChanged, onTrust);
    });
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  private flow(request: VerificationRequest): VerificationFlow {
    return new VerificationFlow(request, this.client.getSafeUserId());
  }

  /** Verify this session from another of the user's sessions. */
  async verifyThisSession(): Promise<VerificationFlow> {
    const crypto = this.client.getCrypto();
    if (!crypto) throw new Error("crypto unavailable");
    const flow = this.flow(await crypto.requestOwnUserVerification());
    this.active.set(flow);
    return flow;
  }

  /** Verify another of the user's own sessions from this one (session list). */
  async verifyOwnSession(deviceId: string): Promise<VerificationFlow> {
    const crypto = this.client.getCrypto();
    if (!crypto) throw new Error("crypto unavailable");
    const flow = this.flow(await crypto.requestDeviceVerification(this.client.getSafeUserId(), deviceId));
    this.active.set(flow);
    return flow;
  }

  /** Verify another user, in the DM room shared with them. */
  async verifyUser(userId: string, roomId: string): Promise<VerificationFlow> {
    const crypto = this.client.getCrypto();
    if (!crypto) throw new Error("crypto unavailable");
    const existing = crypto.findVerificationRequestDMInProgress(roomId, userId);
    const flow = this.flow(existing ?? (await crypto.requestVerificationDM(userId, roomId)));
    this.active.set(flow);
    return flow;
  }

  /** Close the dialog (cancelling the flow if it is still running). */
  close(): void {
    const flow = this.active.get();
    if (flow && !isFinished(flow.step.get())) flow.cancel();
    this.active.set(null);
  }

  /** The other person of a two-member DM (whom "verify" would verify), or null. */
  dmPartner(roomId: string): { userId: string; name: string } | null {
    const room = this.client.getRoom(roomId);
    const me = this.client.getUserId();
    const others = room?.getMembers().filter((m) => m.userId !== me && (m.membership === "join" || m.membership === "invite"));
    if (!others || others.length !== 1) return null;
    return { userId: others[0]!.userId, name: others[0]!.name || others[0]!.userId };
  }

  /** Whether another user is verified (cross-signing). */
  async isUserVerified(userId: string): Promise<boolean> {
    const status = await this.client.getCrypto()?.getUserVerificationStatus(userId);
    return Boolean(status?.isCrossSigningVerified());
  }
}
