import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { ClientConfig } from "../../config";
import { login } from "../../matrix/auth";
import type { Credentials } from "../../matrix/credentials";
import { errorMessage } from "./errors";

interface Props {
  config: ClientConfig;
  onSignedIn: (credentials: Credentials) => Promise<void>;
}

export function LoginForm({ config, onSignedIn }: Props) {
  const { t } = useTranslation();
  const [identifier, setIdentifier] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!identifier.trim() || !password) {
      setError(t("signin.missingFields"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const credentials = await login(config.baseUrl, identifier, password, t("signin.deviceName", { brand: config.brand }));
      await onSignedIn(credentials);
    } catch (err) {
      setError(errorMessage(t, err));
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-label={t("signin.loginForm")} noValidate>
      <div className="field">
        <label htmlFor="login-identifier">{t("signin.identifier")}</label>
        <input
          id="login-identifier"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={identifier}
          onChange={(e) => setIdentifier(e.target.value)}
          aria-describedby="login-identifier-hint"
          required
        />
        <p id="login-identifier-hint" className="hint">
          {t("signin.identifierHint", { server: config.serverName })}
        </p>
      </div>
      <div className="field">
        <label htmlFor="login-password">{t("signin.password")}</label>
        <input
          id="login-password"
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? t("signin.signingIn") : t("signin.submit")}
      </button>
    </form>
  );
}
