import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ClientConfig } from "../../config";
import { fetchPasswordPolicy, registrationFlows, type PasswordPolicy } from "../../matrix/auth";
import type { Credentials } from "../../matrix/credentials";
import { LoginForm } from "./LoginForm";
import { RegisterForm } from "./RegisterForm";

interface Props {
  config: ClientConfig;
  onSignedIn: (credentials: Credentials) => Promise<void>;
}

/** Sign in, or create an account where the server allows it. */
export function SignInScreen({ config, onSignedIn }: Props) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<"login" | "register">("login");
  const [canRegister, setCanRegister] = useState(false);
  const [policy, setPolicy] = useState<PasswordPolicy | null>(null);

  useEffect(() => {
    if (config.features.registration === false) return;
    void registrationFlows(config.baseUrl).then((flows) => setCanRegister(flows !== null));
    void fetchPasswordPolicy(config.baseUrl).then(setPolicy);
  }, [config]);

  return (
    <div className="signin-page">
      <main className="signin-card" aria-labelledby="signin-title">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{config.brand}</span>
        </div>
        <h1 id="signin-title">{mode === "login" ? t("signin.title") : t("signin.register.title")}</h1>
        <p className="signin-subtitle">
          {mode === "login" ? t("signin.subtitle", { server: config.serverName }) : t("signin.register.subtitle", { server: config.serverName })}
        </p>
        {mode === "login" ? (
          <LoginForm config={config} onSignedIn={onSignedIn} />
        ) : (
          <RegisterForm config={config} policy={policy} onSignedIn={onSignedIn} />
        )}
        {canRegister && (
          <p className="signin-switch">
            {mode === "login" ? t("signin.noAccount") : t("signin.haveAccount")}{" "}
            <button type="button" className="button-link" onClick={() => setMode(mode === "login" ? "register" : "login")}>
              {mode === "login" ? t("signin.createAccount") : t("signin.goToLogin")}
            </button>
          </p>
        )}
      </main>
      <footer className="signin-footer">{t("signin.footer")}</footer>
    </div>
  );
}
