import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { useStore } from "../../ui/useStore";
import { PasswordDialog } from "./PasswordDialog";
import { RecoveryKeyDialog } from "./RecoveryKeyDialog";
import { VerificationDialog } from "./VerificationDialog";
import { VerifySessionDialog } from "./VerifySessionDialog";
import "./verification.css";

/**
 * Everything encryption asks of the user, over the app: the recovery key at
 * first login, "verify this session" on a new one, emoji verification
 * dialogs (ours or incoming), the password for UIA, and backup progress.
 */
export function EncryptionOverlay() {
  const { t } = useTranslation();
  const session = useSession();
  const { encryption, verification, password } = session.e2ee;
  const state = useStore(encryption.state);
  const busy = useStore(encryption.busy);
  const newKey = useStore(encryption.newRecoveryKey);
  const restore = useStore(encryption.restore);
  const error = useStore(encryption.error);
  const flow = useStore(verification.active);
  const [later, setLater] = useState(false);

  const otherName = flow ? (session.client.getUser(flow.otherUserId)?.displayName ?? flow.otherUserId) : "";
  return (
    <>
      <div className="crypto-banners">
        {state === "needsSetup" && busy && (
          <div className="crypto-banner" role="status">
            <span className="spinner spinner-small" aria-hidden="true" /> {t("crypto.setup.working")}
          </div>
        )}
        {error && (
          <div className="crypto-banner crypto-banner-error" role="alert">
            {t(error)}{" "}
            <button type="button" className="button button-small" onClick={() => void encryption.setUpEncryption()}>
              {t("crypto.setup.retry")}
            </button>
          </div>
        )}
        {state === "needsVerification" && later && !flow && (
          <div className="crypto-banner" role="region" aria-label={t("crypto.verify.bannerLabel")}>
            {t("crypto.verify.banner")}{" "}
            <button type="button" className="button button-small" onClick={() => setLater(false)}>
              {t("crypto.verify.bannerAction")}
            </button>
          </div>
        )}
        {restore && (
          <div className="crypto-banner" role="status">
            {restore.done
              ? t("crypto.backup.restored", { count: restore.imported })
              : t("crypto.backup.restoring", { imported: restore.imported, total: restore.total })}
          </div>
        )}
      </div>
      {newKey && (
        <RecoveryKeyDialog recoveryKey={newKey} userId={session.userId} onSaved={() => encryption.recoveryKeySaved()} />
      )}
      {!newKey && state === "needsVerification" && !later && !flow && (
        <VerifySessionDialog encryption={encryption} verification={verification} onLater={() => setLater(true)} />
      )}
      {flow && <VerificationDialog center={verification} flow={flow} otherName={otherName} />}
      <PasswordDialog prompter={password} />
    </>
  );
}
