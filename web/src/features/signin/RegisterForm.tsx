import { useEffect, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { ClientConfig } from "../../config";
import {
  checkPassword,
  nextStage,
  registerStep,
  requestRegistrationEmail,
  stageAuth,
  type EmailValidation,
  type PasswordPolicy,
  type RegisterForm as Form,
  type UiaState,
} from "../../matrix/auth";
import type { Credentials } from "../../matrix/credentials";
import { errorMessage } from "./errors";
import { PasswordRules } from "./PasswordRules";

interface Props {
  config: ClientConfig;
  policy: PasswordPolicy | null;
  onSignedIn: (credentials: Credentials) => Promise<void>;
}

type Step =
  | { kind: "form" }
  | { kind: "token"; uia: UiaState }
  | { kind: "email"; uia: UiaState }
  | { kind: "waitEmail"; uia: UiaState; validation: EmailValidation };

const POLL_MS = 3000;

/** Registration with user-interactive auth: token, email link, or nothing. */
export function RegisterForm({ config, policy, onSignedIn }: Props) {
  const { t } = useTranslation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [token, setToken] = useState("");
  const [email, setEmail] = useState("");
  const [step, setStep] = useState<Step>({ kind: "form" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const form: Form = { username: username.trim(), password, deviceName: t("signin.deviceName", { brand: config.brand }) };
  const formRef = useRef(form);
  formRef.current = form;

  /** Send one round trip; complete automatic stages; stop at those needing the user. */
  async function advance(auth?: Record<string, unknown>, extra: { token?: string; email?: EmailValidation } = {}) {
    let result = await registerStep(config.baseUrl, formRef.current, auth);
    for (;;) {
      if (result.kind === "done") {
        await onSignedIn(result.credentials);
        return;
      }
      const stage = nextStage(result.state);
      if (stage === null) throw new Error(t("signin.register.unsupported"));
      if (stage === "m.login.dummy" || stage === "m.login.terms") {
        result = await registerStep(config.baseUrl, formRef.current, stageAuth(stage, result.state.session, {}));
        continue;
      }
      if (stage === "m.login.registration_token") {
        if (extra.token && !result.state.completed.includes(stage) && auth?.type === stage) {
          throw new Error(t("signin.register.badToken"));
        }
        setStep({ kind: "token", uia: result.state });
        return;
      }
      if (stage === "m.login.email.identity") {
        if (extra.email) {
          setStep({ kind: "waitEmail", uia: result.state, validation: extra.email });
          return;
        }
        setStep({ kind: "email", uia: result.state });
        return;
      }
      throw new Error(t("signin.register.unsupported"));
    }
  }

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err instanceof Error && !("errcode" in err) && !(err.name === "NetworkError") ? err.message : errorMessage(t, err));
    } finally {
      setBusy(false);
    }
  }

  function submitForm(e: FormEvent) {
    e.preventDefault();
    if (!username.trim() || !password) return setError(t("signin.missingFields"));
    if (password !== confirm) return setError(t("signin.register.mismatch"));
    if (policy && checkPassword(policy, password).some((r) => !r.ok)) return setError(t("errors.weakPassword"));
    void run(() => advance());
  }

  function submitToken(e: FormEvent) {
    e.preventDefault();
    if (step.kind !== "token") return;
    void run(() => advance(stageAuth("m.login.registration_token", step.uia.session, { token: token.trim() }), { token: token.trim() }));
  }

  function submitEmail(e: FormEvent) {
    e.preventDefault();
    if (step.kind !== "email") return;
    const uia = step.uia;
    void run(async () => {
      const validation = await requestRegistrationEmail(config.baseUrl, email.trim());
      setStep({ kind: "waitEmail", uia, validation });
    });
  }

  // While waiting for the link to be clicked, try the stage every few seconds.
  const waiting = step.kind === "waitEmail" ? step : null;
  useEffect(() => {
    if (!waiting) return;
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      try {
        const result = await registerStep(
          config.baseUrl,
          formRef.current,
          stageAuth("m.login.email.identity", waiting.uia.session, { email: waiting.validation }),
        );
        if (result.kind === "done") {
          stopped = true;
          await onSignedIn(result.credentials);
          return;
        }
        if (result.state.completed.includes("m.login.email.identity")) {
          stopped = true;
          await advance(stageAuth("m.login.email.identity", waiting.uia.session, { email: waiting.validation }), {
            email: waiting.validation,
          });
          return;
        }
      } catch (err) {
        setError(errorMessage(t, err));
      }
      if (!stopped) timer = window.setTimeout(tick, POLL_MS);
    };
    let timer = window.setTimeout(tick, POLL_MS);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [waiting]);

  const errorBox = error && (
    <p className="form-error" role="alert">
      {error}
    </p>
  );

  if (step.kind === "token") {
    return (
      <form className="form" onSubmit={submitToken} aria-label={t("signin.register.tokenForm")}>
        <div className="field">
          <label htmlFor="register-token">{t("signin.register.token")}</label>
          <input id="register-token" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" required />
          <p className="hint">{t("signin.register.tokenHint")}</p>
        </div>
        {errorBox}
        <button type="submit" className="button button-primary" disabled={busy}>
          {t("signin.register.continue")}
        </button>
      </form>
    );
  }

  if (step.kind === "email") {
    return (
      <form className="form" onSubmit={submitEmail} aria-label={t("signin.register.emailForm")}>
        <div className="field">
          <label htmlFor="register-email">{t("signin.register.email")}</label>
          <input
            id="register-email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
          />
          <p className="hint">{t("signin.register.emailHint")}</p>
        </div>
        {errorBox}
        <button type="submit" className="button button-primary" disabled={busy}>
          {t("signin.register.sendLink")}
        </button>
      </form>
    );
  }

  if (step.kind === "waitEmail") {
    return (
      <section className="form" aria-live="polite" aria-label={t("signin.register.checkEmailTitle")}>
        <h2>{t("signin.register.checkEmailTitle")}</h2>
        <p>{t("signin.register.checkEmail", { email: step.validation.email })}</p>
        <p className="hint">
          <span className="spinner spinner-small" aria-hidden="true" /> {t("signin.register.waiting")}
        </p>
        {errorBox}
        <div className="button-row">
          <button
            type="button"
            className="button"
            disabled={busy}
            onClick={() => void run(() => advance(stageAuth("m.login.email.identity", step.uia.session, { email: step.validation }), { email: step.validation }))}
          >
            {t("signin.register.clicked")}
          </button>
          <button type="button" className="button button-link" onClick={() => setStep({ kind: "email", uia: step.uia })}>
            {t("signin.register.changeEmail")}
          </button>
        </div>
      </section>
    );
  }

  return (
    <form className="form" onSubmit={submitForm} aria-label={t("signin.register.form")} noValidate>
      <div className="field">
        <label htmlFor="register-username">{t("signin.register.username")}</label>
        <input
          id="register-username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={username}
          onChange={(e) => setUsername(e.target.value.toLowerCase())}
          aria-describedby="register-username-hint"
          required
        />
        <p id="register-username-hint" className="hint">
          {t("signin.register.usernameHint", { example: `@${username.trim() || "prenom.nom"}:${config.serverName}` })}
        </p>
      </div>
      <div className="field">
        <label htmlFor="register-password">{t("signin.password")}</label>
        <input
          id="register-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-describedby={policy ? "register-password-rules" : undefined}
          required
        />
      </div>
      {policy && <PasswordRules id="register-password-rules" policy={policy} password={password} />}
      <div className="field">
        <label htmlFor="register-confirm">{t("signin.register.confirm")}</label>
        <input
          id="register-confirm"
          type="password"
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          required
        />
      </div>
      {errorBox}
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? t("signin.register.creating") : t("signin.register.submit")}
      </button>
    </form>
  );
}
