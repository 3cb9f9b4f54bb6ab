import { useTranslation } from "react-i18next";
import type { ConnectionState } from "../matrix/connection";

/** Offline or reconnecting: said once, politely, at the top of the page. */
export function ConnectionBanner({ state }: { state: ConnectionState }) {
  const { t } = useTranslation();
  const message = state === "offline" ? t("connection.offline") : state === "reconnecting" ? t("connection.reconnecting") : null;
  return (
    <div role="status" aria-live="polite" className={message ? `connection-banner connection-${state}` : "visually-hidden"}>
      {message}
    </div>
  );
}
