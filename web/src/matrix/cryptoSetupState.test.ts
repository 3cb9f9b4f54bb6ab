import { describe, expect, it } from "vitest";
import {
  encryptionState,
  logoutLosesKeys,
  looksLikeRecoveryKey,
  normaliseRecoveryKey,
  recoveryKeyFileText,
  type CryptoFacts,
} from "./cryptoSetupState";

const ready: CryptoFacts = { crossSigningOnServer: true, thisSessionVerified: true, backupOnServer: true, backupActive: true };

describe("encryption state of this session", () => {
  it("sets everything up at the account's first login", () => {
    expect(encryptionState({ ...ready, crossSigningOnServer: false, thisSessionVerified: false })).toBe("needsSetup");
  });

  it("asks a new session of an existing account to verify itself", () => {
    expect(encryptionState({ ...ready, thisSessionVerified: false, backupActive: false })).toBe("needsVerification");
  });

  it("offers a backup when a verified session has none", () => {
    expect(encryptionState({ ...ready, backupOnServer: false, backupActive: false })).toBe("needsBackup");
    expect(encryptionState({ ...ready, backupActive: false })).toBe("ready");
  });

  it("is ready when verified with an active backup, and checking before facts", () => {
    expect(encryptionState(ready)).toBe("ready");
    expect(encryptionState(null)).toBe("checking");
  });

  it("warns at logout unless the backup is active", () => {
    expect(logoutLosesKeys(ready)).toBe(false);
    expect(logoutLosesKeys({ ...ready, backupActive: false })).toBe(true);
    expect(logoutLosesKeys(null)).toBe(true);
  });
});

describe("recovery key", () => {
  const key = "EsTc LW2K PGiF wKEA 3As5 g5c4 BXwk qeeJ ZJV8 Q9fu gUMN UE4d";

  it("accepts the key with any spacing and rejects other text", () => {
    expect(looksLikeRecoveryKey(key)).toBe(true);
    expect(looksLikeRecoveryKey(key.replace(/ /g, ""))).toBe(true);
    expect(looksLikeRecoveryKey(`  ${key.replace(/ /g, "\n")} `)).toBe(true);
    expect(looksLikeRecoveryKey("mot de passe")).toBe(false);
    expect(looksLikeRecoveryKey(key.replace("E", "0"))).toBe(false);
  });

  it("normalises pasted whitespace for the decoder", () => {
    expect(normaliseRecoveryKey(" EsTc\nLW2K\t PGiF ")).toBe("EsTc LW2K PGiF");
  });

  it("writes the key file with its advice", () => {
    const text = recoveryKeyFileText(key, { title: "T", account: "A", advice: "Gardez-la" });
    expect(text).toContain(key);
    expect(text.endsWith("Gardez-la\n")).toBe(true);
  });
});
