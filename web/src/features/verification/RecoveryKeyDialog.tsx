import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../ui/Dialog";
import { RECOVERY_KEY_FILE_NAME, recoveryKeyFileText } from "../../matrix/cryptoSetupState";

/**
 * The recovery key, shown once right after it is created: copy, download,
 * and an explicit "I saved it" before the dialog goes away.
 */
export function RecoveryKeyDialog({ recoveryKey, userId, onSaved }: { recoveryKey: string; userId: string; onSaved: () => void }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  const [kept, setKept] = useState(false);
  const [confirmed, setConfirmed] = useState(false);

  async function copy() {
    try {
      await navigator.clipboard.writeText(recoveryKey);
      setCopied(true);
      setKept(true);
    } catch {
      setCopied(false);
    }
  }

  function download() {
    const text = recoveryKeyFileText(recoveryKey, {
      title: t("crypto.recoveryKey.fileTitle"),
      account: t("crypto.recoveryKey.fileAccount", { userId }),
      advice: t("crypto.recoveryKey.fileAdvice"),
    });
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = RECOVERY_KEY_FILE_NAME;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setKept(true);
  }

  return (
    <Dialog title={t("crypto.recoveryKey.title")} onClose={() => confirmed && onSaved()}>
      <p>{t("crypto.recoveryKey.intro")}</p>
      <p className="recovery-key" aria-label={t("crypto.recoveryKey.label")} data-recovery-key="">
        <code>{recoveryKey}</code>
      </p>
      <div className="button-row">
        <button type="button" className="button" onClick={() => void copy()}>
          {t("crypto.recoveryKey.copy")}
        </button>
        <button type="button" className="button" onClick={download}>
          {t("crypto.recoveryKey.download")}
        </button>
      </div>
      <p role="status" className="hint">
        {copied ? t("crypto.recoveryKey.copied") : ""}
      </p>
      <p className="warning">{t("crypto.recoveryKey.warning")}</p>
      <div className="checkbox-field">
        <input id="recovery-saved" type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
        <label htmlFor="recovery-saved">{t("crypto.recoveryKey.savedCheck")}</label>
      </div>
      <div className="button-row">
        <button type="button" className="button button-primary" disabled={!confirmed} onClick={onSaved}>
          {t("crypto.recoveryKey.done")}
        </button>
      </div>
      {!kept && <p className="hint">{t("crypto.recoveryKey.hintSave")}</p>}
    </Dialog>
  );
}
