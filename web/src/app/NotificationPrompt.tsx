import { useState } from "react";
import { useTranslation } from "react-i18next";

const DISMISSED = "sceau.notificationsPrompted";

/** Asks once whether to turn on browser notifications (settings can change it later). */
export function NotificationPrompt() {
  const { t } = useTranslation();
  const [visible, setVisible] = useState(
    () => typeof Notification !== "undefined" && Notification.permission === "default" && localStorage.getItem(DISMISSED) === null,
  );
  if (!visible) return null;
  const close = () => {
    localStorage.setItem(DISMISSED, "1");
    setVisible(false);
  };
  return (
    <div className="notification-prompt" role="region" aria-label={t("notifications.promptLabel")}>
      <p>{t("notifications.prompt")}</p>
      <div className="button-row">
        <button
          type="button"
          className="button button-primary button-small"
          onClick={() => {
            void Notification.requestPermission().finally(close);
          }}
        >
          {t("notifications.enable")}
        </button>
        <button type="button" className="button button-small" onClick={close}>
          {t("notifications.later")}
        </button>
      </div>
    </div>
  );
}
