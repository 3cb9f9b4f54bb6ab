/**
 * Everything of encryption and files a logged-in session carries, built in
 * one place so session.ts only creates and starts it. The secret-storage key
 * cache exists before the client, since its callbacks go to createClient.
 */
import type { MatrixClient } from "matrix-js-sdk";
import { EncryptionController, SecretKeyCache } from "./crypto";
import { PasswordPrompter } from "./cryptoPrompt";
import { SessionManager } from "./cryptoSessions";
import { VerificationCenter } from "./cryptoVerification";
import { createMediaLoader, type MediaLoader } from "./mediaFetch";
import { FileSender } from "./mediaSend";

export class CryptoFeatures {
  readonly password = new PasswordPrompter();
  readonly encryption: EncryptionController;
  readonly verification: VerificationCenter;
  readonly sessions: SessionManager;
  readonly files: FileSender;
  readonly media: MediaLoader;

  constructor(
    client: MatrixClient,
    readonly secretKeys: SecretKeyCache,
    options: { baseUrl: string; accessToken: string; uploadLimit: number | null; scanEncrypted?: boolean },
  ) {
    this.encryption = new EncryptionController(client, secretKeys, this.password.ask);
    this.verification = new VerificationCenter(client);
    this.sessions = new SessionManager(client, this.password.ask);
    this.files = new FileSender(client, options.uploadLimit);
    this.media = createMediaLoader(options.baseUrl, options.accessToken, { scanEncrypted: options.scanEncrypted });
  }

  /** Once the Rust crypto is initialised. */
  start(): void {
    this.encryption.start();
    this.verification.start();
  }

  stop(): void {
    this.encryption.stop();
    this.verification.stop();
    this.password.answer(null);
  }
}
