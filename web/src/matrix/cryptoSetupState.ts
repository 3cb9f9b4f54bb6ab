/**
 * Where this session stands with encryption, from facts read off the crypto
 * stack, and the small rules around the recovery key. Pure: cryptoSetup.ts
 * gathers the facts and performs the steps.
 */

export interface CryptoFacts {
  /** The account has published cross-signing keys (some session set them up). */
  crossSigningOnServer: boolean;
  /** This session is signed by the account's self-signing key. */
  thisSessionVerified: boolean;
  /** A key backup version exists on the server. */
  backupOnServer: boolean;
  /** This session holds the backup decryption key and uploads to the backup. */
  backupActive: boolean;
}

export type EncryptionState =
  /** Reading the facts. */
  | "checking"
  /** The crypto stack did not start (no WASM, private browsing…). */
  | "unavailable"
  /** First login of the account: cross-signing, secret storage and backup are created here. */
  | "needsSetup"
  /** The account has an identity, this session is not part of it yet. */
  | "needsVerification"
  /** Verified, but the account has no key backup: offered (keys would be lost with the last session). */
  | "needsBackup"
  | "ready";

export function encryptionState(facts: CryptoFacts | null): EncryptionState {
  if (facts === null) return "checking";
  if (!facts.crossSigningOnServer) return "needsSetup";
  if (!facts.thisSessionVerified) return "needsVerification";
  // A backup on the server but not active here is transient after an emoji
  // verification (the other session sends its key); the logout warning covers it.
  if (!facts.backupOnServer) return "needsBackup";
  return "ready";
}

/** Logging out loses keys when no backup holds them and this session is the only copy. */
export function logoutLosesKeys(facts: CryptoFacts | null): boolean {
  return facts === null || !facts.backupActive;
}

/** What the user typed or pasted, as the SDK's decoder expects it (it only strips spaces). */
export function normaliseRecoveryKey(input: string): string {
  return input.replace(/\s+/g, " ").trim();
}

/** A recovery key looks like 12 groups of 4 base58 characters; checked before asking the SDK. */
export function looksLikeRecoveryKey(input: string): boolean {
  const compact = input.replace(/\s+/g, "");
  return /^[1-9A-HJ-NP-Za-km-z]{48}$/.test(compact);
}

/** The text of the downloaded recovery-key file (sentences come translated). */
export function recoveryKeyFileText(recoveryKey: string, lines: { title: string; account: string; advice: string }): string {
  return `${lines.title}\n\n${lines.account}\n\n${recoveryKey}\n\n${lines.advice}\n`;
}

export const RECOVERY_KEY_FILE_NAME = "cle-de-recuperation.txt";
