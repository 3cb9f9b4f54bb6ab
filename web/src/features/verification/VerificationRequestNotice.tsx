import { useTranslation } from "react-i18next";

/**
 * The m.key.verification.request message in a DM's timeline: its body is a
 * fallback for clients without in-room verification, so say what it is instead.
 */
export function VerificationRequestNotice({ senderName, mine }: { senderName: string; mine: boolean }) {
  const { t } = useTranslation();
  return (
    <p className="event-body event-muted">
      {mine ? t("verification.requestSentNotice") : t("verification.requestNotice", { name: senderName })}
    </p>
  );
}
