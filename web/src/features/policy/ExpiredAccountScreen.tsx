import { useState } from "react";
import { useTranslation } from "react-i18next";
import { sendRenewalMail } from "../../matrix/accountValidity";
import type { MatrixSession } from "../../matrix/session";
import { explainError } from "./policyErrors";
import "./policy.css";

/** The account expired: re-send the renewal email, reload once renewed, or sign out. */
export function ExpiredAccountScreen({ session }: { session: MatrixSession }) {
  const { t } = useTranslation();
  const [state, setState] = useState<"idle" | "sending" | "sent" | "failed">("idle");
  const [error, setError] = useState("");
  async function send() {
    setState("sending");
    try {
      await sendRenewalMail(session.credentials.baseUrl, session.credentials.accessToken);
      setState("sent");
    } catch (err) {
      const noEmail = (err as { errcode?: unknown } | null)?.errcode === "M_THREEPID_NOT_FOUND";
      setError(noEmail ? t("policy.expired.noEmail") : t("policy.expired.failed", { message: explainError(t, err) }));
      setState("failed");
    }
  }
  return (
    <main className="expired-screen" aria-labelledby="expired-title">
      <div className="expired-card">
        <h1 id="expired-title">{t("policy.expired.title")}</h1>
        <p>{t("policy.expired.body")}</p>
        <div className="button-row">
          <button type="button" className="button button-primary" disabled={state === "sending"} onClick={() => void send()}>
            {state === "sending" ? t("policy.expired.sending") : t("policy.expired.send")}
          </button>
          <button type="button" className="button" onClick={() => window.location.reload()}>
            {t("policy.expired.reload")}
          </button>
        </div>
        <p role="status" className={state === "failed" ? "form-error" : "hint"}>
          {state === "sent" ? t("policy.expired.sent") : state === "failed" ? error : ""}
        </p>
        <button type="button" className="button button-danger" onClick={() => void session.logout()}>
          {t("policy.expired.logout")}
        </button>
      </div>
    </main>
  );
}
