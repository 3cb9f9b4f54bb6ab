import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { useStore } from "../../ui/useStore";
import { CallIcon } from "./CallIcon";

/** The room header's call buttons: voice and video with one other person, a group call otherwise. */
export function CallButtons({ roomId, joinedCount }: { roomId: string; joinedCount: number }) {
  const { t } = useTranslation();
  const session = useSession();
  const call = useStore(session.calls.call);
  const roomCalls = useStore(session.groupCalls.rooms);
  const current = useStore(session.groupCalls.current);
  if (!session.config.features.calls) return null;
  const ongoing = roomCalls.get(roomId);
  const busy = (call !== null && call.phase !== "ended") || current !== null;
  if (ongoing && current?.roomId !== roomId) {
    const names = ongoing.participants.map((p) => p.name).join(", ");
    return (
      <div className="call-ongoing">
        <span className="call-ongoing-people">{t("calls.inCall", { names })}</span>
        <button
          type="button"
          className="button button-small call-join"
          disabled={busy || !session.groupCalls.canStart(roomId)}
          onClick={() => void session.groupCalls.join(roomId, ongoing.media)}
        >
          <CallIcon name="group" size={16} />
          {t("calls.join", { count: ongoing.participants.length })}
        </button>
      </div>
    );
  }
  if (joinedCount === 2 && session.calls.canCall(roomId)) {
    return (
      <>
        <button
          type="button"
          className="icon-button"
          aria-label={t("calls.startVoice")}
          title={t("calls.startVoice")}
          disabled={busy}
          onClick={() => void session.calls.start(roomId, "voice")}
        >
          <CallIcon name="phone" />
        </button>
        <button
          type="button"
          className="icon-button"
          aria-label={t("calls.startVideo")}
          title={t("calls.startVideo")}
          disabled={busy}
          onClick={() => void session.calls.start(roomId, "video")}
        >
          <CallIcon name="video" />
        </button>
      </>
    );
  }
  if (joinedCount > 2 && session.groupCalls.canStart(roomId)) {
    return (
      <button
        type="button"
        className="icon-button"
        aria-label={t("calls.startGroup")}
        title={t("calls.startGroup")}
        disabled={busy}
        onClick={() => void session.groupCalls.join(roomId, "video")}
      >
        <CallIcon name="group" />
      </button>
    );
  }
  return null;
}
