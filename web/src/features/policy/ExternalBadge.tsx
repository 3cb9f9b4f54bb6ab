import { useTranslation } from "react-i18next";
import "./policy.css";

/** "Externe" next to an external partner's name, wherever agents meet them. */
export function ExternalBadge({ className }: { className?: string }) {
  const { t } = useTranslation();
  return (
    <span className={className ? `external-badge ${className}` : "external-badge"} title={t("policy.external.title")}>
      {t("policy.external.badge")}
    </span>
  );
}
