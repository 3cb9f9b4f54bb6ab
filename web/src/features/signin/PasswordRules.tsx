import { useTranslation } from "react-i18next";
import { checkPassword, type PasswordPolicy } from "../../matrix/auth";

/** The server's password rules, each ticked once the password meets it. */
export function PasswordRules({ policy, password, id }: { policy: PasswordPolicy; password: string; id: string }) {
  const { t } = useTranslation();
  const rules = checkPassword(policy, password);
  if (rules.length === 0) return null;
  return (
    <div id={id} className="password-rules">
      <p>{t("signin.passwordRules.title")}</p>
      <ul>
        {rules.map(({ rule, ok }) => (
          <li key={rule} className={ok ? "rule-ok" : "rule-pending"}>
            <span aria-hidden="true">{ok ? "✓" : "•"}</span>{" "}
            {t(`signin.passwordRules.${rule}`, { count: policy.minLength })}
            <span className="visually-hidden">{ok ? t("signin.passwordRules.met") : t("signin.passwordRules.notMet")}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
