import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { checkPassword, fetchPasswordPolicy, type PasswordPolicy } from "../../matrix/auth";
import { PasswordRules } from "../signin/PasswordRules";
import { explainError } from "./policyErrors";

/** Settings: change the password, the server's rules shown before typing and ticked live. */
export function PasswordChangeSection() {
  const { t } = useTranslation();
  const session = useSession();
  const [policy, setPolicy] = useState<PasswordPolicy | null>(null);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  useEffect(() => {
    let live = true;
    void fetchPasswordPolicy(session.credentials.baseUrl).then((p) => live && setPolicy(p));
    return () => {
      live = false;
    };
  }, [session]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (next !== confirm) {
      setStatus({ text: t("policy.passwordChange.mismatch"), error: true });
      return;
    }
    if (policy && checkPassword(policy, next).some((rule) => !rule.ok)) {
      setStatus({ text: t("policy.passwordChange.rulesNotMet"), error: true });
      return;
    }
    setBusy(true);
    setStatus(null);
    try {
      await session.changePassword(current, next);
      setCurrent("");
      setNext("");
      setConfirm("");
      setStatus({ text: t("policy.passwordChange.done"), error: false });
    } catch (err) {
      const wrongPassword = (err as { errcode?: unknown } | null)?.errcode === "M_FORBIDDEN" && !(err as { data?: { policy?: unknown } }).data?.policy;
      setStatus({ text: wrongPassword ? t("policy.passwordChange.wrongCurrent") : explainError(t, err), error: true });
    }
    setBusy(false);
  }

  return (
    <section className="settings-section" aria-labelledby="settings-password">
      <h3 id="settings-password">{t("policy.passwordChange.title")}</h3>
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <div className="field">
          <label htmlFor="password-current">{t("policy.passwordChange.current")}</label>
          <input id="password-current" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="password-new">{t("policy.passwordChange.new")}</label>
          <input
            id="password-new"
            type="password"
            autoComplete="new-password"
            value={next}
            aria-describedby={policy ? "password-change-rules" : undefined}
            onChange={(e) => setNext(e.target.value)}
          />
        </div>
        {policy && <PasswordRules id="password-change-rules" policy={policy} password={next} />}
        <div className="field">
          <label htmlFor="password-confirm">{t("policy.passwordChange.confirm")}</label>
          <input id="password-confirm" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        </div>
        <button type="submit" className="button" disabled={busy || !current || !next}>
          {t("policy.passwordChange.submit")}
        </button>
        {status && (
          <p role={status.error ? "alert" : "status"} className={status.error ? "form-error" : "hint"}>
            {status.text}
          </p>
        )}
      </form>
    </section>
  );
}
