import { describe, expect, it } from "vitest";
import { DECRYPTION_FAILURE_KEYS, decryptionFailureView } from "./cryptoFailure";

describe("undecryptable messages", () => {
  it("says the key is awaited when the sender's session key has not arrived", () => {
    expect(decryptionFailureView("MEGOLM_UNKNOWN_INBOUND_SESSION_ID")).toEqual({
      messageKey: "crypto.utd.waitingForKey",
      mayArrive: true,
      suggestVerify: false,
    });
  });

  it("asks to verify this session when keys are withheld from unverified sessions", () => {
    const view = decryptionFailureView("MEGOLM_KEY_WITHHELD_FOR_UNVERIFIED_DEVICE");
    expect(view.messageKey).toBe("crypto.utd.unverifiedSession");
    expect(view.suggestVerify).toBe(true);
  });

  it("explains history from before this session, with and without a usable backup", () => {
    expect(decryptionFailureView("HISTORICAL_MESSAGE_NO_KEY_BACKUP").messageKey).toBe("crypto.utd.historicalNoBackup");
    expect(decryptionFailureView("HISTORICAL_MESSAGE_BACKUP_UNCONFIGURED")).toMatchObject({
      messageKey: "crypto.utd.historicalNeedsVerification",
      suggestVerify: true,
    });
    expect(decryptionFailureView("HISTORICAL_MESSAGE_WORKING_BACKUP").messageKey).toBe("crypto.utd.fromBackup");
    expect(decryptionFailureView("HISTORICAL_MESSAGE_USER_NOT_JOINED").mayArrive).toBe(false);
  });

  it("says a key was deliberately not sent to this session", () => {
    expect(decryptionFailureView("MEGOLM_KEY_WITHHELD")).toMatchObject({ messageKey: "crypto.utd.withheld", mayArrive: false });
  });

  it("falls back to a generic reason for unknown codes, and to 'decrypting' before any failure", () => {
    expect(decryptionFailureView("SOMETHING_NEW").messageKey).toBe("crypto.utd.unknown");
    expect(decryptionFailureView(null).messageKey).toBe("crypto.utd.decrypting");
  });

  it("lists each key once", () => {
    expect(new Set(DECRYPTION_FAILURE_KEYS).size).toBe(DECRYPTION_FAILURE_KEYS.length);
    expect(DECRYPTION_FAILURE_KEYS).toContain("crypto.utd.senderIdentityChanged");
  });
});
