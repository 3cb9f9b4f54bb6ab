import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";

/** Sign out, warning first when this session holds keys that are not backed up. */
export function LogoutSection() {
  const { t } = useTranslation();
  const session = useSession();
  const [stage, setStage] = useState<"idle" | "checking" | "warn" | "leaving">("idle");

  async function start() {
    setStage("checking");
    if (await session.keysAtRisk()) setStage("warn");
    else await leave();
  }

  async function leave() {
    setStage("leaving");
    await session.logout();
  }

  return (
    <section className="settings-section" aria-labelledby="settings-session">
      <h3 id="settings-session">{t("settings.session")}</h3>
      <p className="hint">{t("settings.deviceId", { id: session.deviceId })}</p>
      {stage === "warn" ? (
        <div className="warning" role="alert">
          <p>
            <strong>{t("logout.warnTitle")}</strong>
          </p>
          <p>{t("logout.warnText")}</p>
          <div className="button-row">
            <button type="button" className="button" onClick={() => setStage("idle")}>
              {t("common.cancel")}
            </button>
            <button type="button" className="button button-danger" onClick={() => void leave()}>
              {t("logout.anyway")}
            </button>
          </div>
        </div>
      ) : (
        <button type="button" className="button button-danger" disabled={stage !== "idle"} onClick={() => void start()}>
          {stage === "leaving" ? t("logout.leaving") : t("logout.button")}
        </button>
      )}
    </section>
  );
}
