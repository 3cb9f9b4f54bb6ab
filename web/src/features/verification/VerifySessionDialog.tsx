import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../ui/Dialog";
import { RecoveryKeyRejected, type EncryptionController } from "../../matrix/crypto";
import type { VerificationCenter } from "../../matrix/cryptoVerification";
import { looksLikeRecoveryKey } from "../../matrix/cryptoSetupState";

/**
 * A new session of an existing account: prove it is the user's, with the
 * recovery key or by comparing emojis with another session. Until then it
 * cannot read older messages.
 */
export function VerifySessionDialog({
  encryption,
  verification,
  onLater,
}: {
  encryption: EncryptionController;
  verification: VerificationCenter;
  onLater: () => void;
}) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<"choose" | "key">("choose");
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!looksLikeRecoveryKey(key)) {
      setError("crypto.verify.keyMalformed");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await encryption.verifyWithRecoveryKey(key);
    } catch (err) {
      const reason = err instanceof RecoveryKeyRejected ? err.reason : "failed";
      setError(
        reason === "wrong"
          ? "crypto.verify.keyWrong"
          : reason === "malformed"
            ? "crypto.verify.keyMalformed"
            : reason === "noSecretStorage"
              ? "crypto.verify.noSecretStorage"
              : "crypto.verify.failed",
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={t("crypto.verify.title")} onClose={onLater}>
      <p>{t("crypto.verify.intro")}</p>
      {mode === "choose" ? (
        <div className="verify-choices">
          <button type="button" className="button button-primary" onClick={() => setMode("key")}>
            {t("crypto.verify.useKey")}
          </button>
          <button type="button" className="button" onClick={() => void verification.verifyThisSession()}>
            {t("crypto.verify.useOtherSession")}
          </button>
          <button type="button" className="button button-link" onClick={onLater}>
            {t("crypto.verify.later")}
          </button>
        </div>
      ) : (
        <form className="form" onSubmit={(e) => void submit(e)}>
          <div className="field">
            <label htmlFor="recovery-key-input">{t("crypto.verify.keyLabel")}</label>
            <textarea
              id="recovery-key-input"
              rows={3}
              spellCheck={false}
              autoComplete="off"
              value={key}
              onChange={(e) => setKey(e.target.value)}
              aria-invalid={error !== null || undefined}
              aria-describedby="recovery-key-help"
              autoFocus
            />
            <p id="recovery-key-help" className="hint">
              {t("crypto.verify.keyHelp")}
            </p>
          </div>
          {error && (
            <p className="form-error" role="alert">
              {t(error)}
            </p>
          )}
          <div className="button-row">
            <button type="button" className="button" onClick={() => setMode("choose")} disabled={busy}>
              {t("crypto.verify.back")}
            </button>
            <button type="submit" className="button button-primary" disabled={busy || key.trim() === ""}>
              {busy ? t("crypto.verify.checking") : t("crypto.verify.submitKey")}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
