import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { useStore } from "../../ui/useStore";

/** Settings: where this session stands with encryption, and what the user can do. */
export function EncryptionSection() {
  const { t } = useTranslation();
  const { encryption, verification } = useSession().e2ee;
  const state = useStore(encryption.state);
  const facts = useStore(encryption.facts);
  const busy = useStore(encryption.busy);
  return (
    <section className="settings-section" aria-labelledby="settings-encryption">
      <h3 id="settings-encryption">{t("crypto.settings.title")}</h3>
      <p>{t(`crypto.settings.state.${state}`)}</p>
      {facts && (
        <ul className="crypto-facts">
          <li>{facts.thisSessionVerified ? t("crypto.settings.sessionVerified") : t("crypto.settings.sessionNotVerified")}</li>
          <li>{facts.backupActive ? t("crypto.settings.backupOn") : t("crypto.settings.backupOff")}</li>
        </ul>
      )}
      <div className="button-row">
        {state === "needsVerification" && (
          <button type="button" className="button" onClick={() => void verification.verifyThisSession()}>
            {t("crypto.verify.useOtherSession")}
          </button>
        )}
        {state === "needsBackup" && (
          <button type="button" className="button" disabled={busy} onClick={() => void encryption.setUpEncryption()}>
            {t("crypto.settings.setUpBackup")}
          </button>
        )}
      </div>
    </section>
  );
}
