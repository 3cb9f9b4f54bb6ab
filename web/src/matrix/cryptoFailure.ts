/**
 * Why a message cannot be read yet, in words a user understands, and what
 * they can do about it. The codes are matrix-js-sdk's DecryptionFailureCode
 * (strings, so this module needs no SDK import and is testable alone).
 */

export interface DecryptionFailureView {
  /** i18n key of the sentence shown in place of the message. */
  messageKey: string;
  /** The key may still come (from another device or the backup): the message will decrypt by itself. */
  mayArrive: boolean;
  /** Verifying this session (recovery key or another device) would help. */
  suggestVerify: boolean;
}

const VIEWS: Record<string, DecryptionFailureView> = {
  MEGOLM_UNKNOWN_INBOUND_SESSION_ID: { messageKey: "crypto.utd.waitingForKey", mayArrive: true, suggestVerify: false },
  OLM_UNKNOWN_MESSAGE_INDEX: { messageKey: "crypto.utd.waitingForKey", mayArrive: true, suggestVerify: false },
  MEGOLM_KEY_WITHHELD: { messageKey: "crypto.utd.withheld", mayArrive: false, suggestVerify: false },
  MEGOLM_KEY_WITHHELD_FOR_UNVERIFIED_DEVICE: {
    messageKey: "crypto.utd.unverifiedSession",
    mayArrive: true,
    suggestVerify: true,
  },
  HISTORICAL_MESSAGE_NO_KEY_BACKUP: { messageKey: "crypto.utd.historicalNoBackup", mayArrive: false, suggestVerify: false },
  HISTORICAL_MESSAGE_BACKUP_UNCONFIGURED: {
    messageKey: "crypto.utd.historicalNeedsVerification",
    mayArrive: true,
    suggestVerify: true,
  },
  HISTORICAL_MESSAGE_WORKING_BACKUP: { messageKey: "crypto.utd.fromBackup", mayArrive: true, suggestVerify: false },
  HISTORICAL_MESSAGE_USER_NOT_JOINED: { messageKey: "crypto.utd.notJoined", mayArrive: false, suggestVerify: false },
  SENDER_IDENTITY_PREVIOUSLY_VERIFIED: { messageKey: "crypto.utd.senderIdentityChanged", mayArrive: false, suggestVerify: false },
  UNSIGNED_SENDER_DEVICE: { messageKey: "crypto.utd.unverifiedSender", mayArrive: false, suggestVerify: false },
  UNKNOWN_SENDER_DEVICE: { messageKey: "crypto.utd.unverifiedSender", mayArrive: false, suggestVerify: false },
};

const UNKNOWN: DecryptionFailureView = { messageKey: "crypto.utd.unknown", mayArrive: true, suggestVerify: false };
const DECRYPTING: DecryptionFailureView = { messageKey: "crypto.utd.decrypting", mayArrive: true, suggestVerify: false };

/**
 * The view of an undecryptable event. `code` is null while the event is still
 * encrypted but no attempt has failed yet (decryption in progress).
 */
export function decryptionFailureView(code: string | null): DecryptionFailureView {
  if (code === null) return DECRYPTING;
  return VIEWS[code] ?? UNKNOWN;
}

/** Every i18n key this module can return (the catalogue test checks they exist). */
export const DECRYPTION_FAILURE_KEYS: readonly string[] = [
  ...new Set([...Object.values(VIEWS), UNKNOWN, DECRYPTING].map((v) => v.messageKey)),
];
