import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { formatCallDuration, type CallSummary } from "../../matrix/callHistory";
import { CallIcon } from "./CallIcon";

/** A finished call in the timeline: voice or video, who called, how it ended, how long it lasted. */
export function CallTile({ summary }: { summary: CallSummary }) {
  const { t } = useTranslation();
  const outgoing = summary.callerId === useSession().userId;
  const duration = summary.durationMs !== null ? formatCallDuration(summary.durationMs) : null;
  const outcome =
    summary.outcome === "ended" && duration !== null
      ? t("calls.history.duration", { duration })
      : summary.outcome === "connection_lost" && duration !== null
        ? t("calls.history.lostAfter", { duration })
        : t(`calls.history.${summary.outcome}`);
  return (
    <p className={`event-state call-history call-history-${summary.outcome}`}>
      <CallIcon name={summary.video ? "video" : "phone"} size={16} />
      <span>
        {t("calls.history.line", {
          kind: summary.video ? t("calls.history.video") : t("calls.history.voice"),
          direction: outgoing ? t("calls.history.outgoing") : t("calls.history.incoming"),
          outcome,
        })}
      </span>
    </p>
  );
}
