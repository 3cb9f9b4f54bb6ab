import { useTranslation } from "react-i18next";
import type { CallManager, CallView } from "../../matrix/calls";
import { Avatar } from "../../ui/Avatar";
import { CallIcon } from "./CallIcon";
import { useIncomingAlert } from "./useIncomingAlert";

/** A ringing incoming call: who, voice or video, answer or decline. */
export function IncomingCall({ call, calls }: { call: CallView; calls: CallManager }) {
  const { t } = useTranslation();
  const title = call.media === "video" ? t("calls.incomingVideo") : t("calls.incomingVoice");
  const from = t("calls.from", { name: call.peer.name });
  useIncomingAlert(title, from);
  return (
    <section className="call-incoming" role="alertdialog" aria-label={title} aria-describedby="call-incoming-from">
      <Avatar id={call.peer.userId} name={call.peer.name} mxc={call.peer.avatarMxc} size={72} />
      <h2 className="call-name">{title}</h2>
      <p id="call-incoming-from" className="call-status">
        {from}
      </p>
      <div className="call-controls">
        <button type="button" className="call-button call-button-hangup call-button-wide" onClick={() => calls.decline()}>
          <CallIcon name="hangup" />
          <span>{t("calls.decline")}</span>
        </button>
        <button type="button" className="call-button call-button-answer call-button-wide" autoFocus onClick={() => void calls.answer()}>
          <CallIcon name={call.media === "video" ? "video" : "phone"} />
          <span>{t("calls.answer")}</span>
        </button>
      </div>
    </section>
  );
}
