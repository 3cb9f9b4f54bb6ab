import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../ui/Dialog";
import { useStore } from "../../ui/useStore";
import type { PasswordPrompter } from "../../matrix/cryptoPrompt";

/** The password the server asks for (UIA) before a sensitive change. */
export function PasswordDialog({ prompter }: { prompter: PasswordPrompter }) {
  const { t } = useTranslation();
  const request = useStore(prompter.request);
  const [password, setPassword] = useState("");
  if (!request) return null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const value = password;
    setPassword("");
    prompter.answer(value);
  };
  return (
    <Dialog title={t("crypto.password.title")} onClose={() => prompter.answer(null)}>
      <form className="form" onSubmit={submit}>
        <p>{t(request.reason === "signOut" ? "crypto.password.signOut" : "crypto.password.crossSigning")}</p>
        <div className="field">
          <label htmlFor="uia-password">{t("crypto.password.label")}</label>
          <input
            id="uia-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={request.wrong || undefined}
            aria-describedby={request.wrong ? "uia-password-error" : undefined}
            required
            autoFocus
          />
          {request.wrong && (
            <p id="uia-password-error" className="form-error" role="alert">
              {t("crypto.password.wrong")}
            </p>
          )}
        </div>
        <div className="button-row">
          <button type="button" className="button" onClick={() => prompter.answer(null)}>
            {t("common.cancel")}
          </button>
          <button type="submit" className="button button-primary" disabled={password === ""}>
            {t("crypto.password.confirm")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
