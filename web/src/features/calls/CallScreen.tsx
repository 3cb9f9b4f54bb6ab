import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { formatCallDuration } from "../../matrix/callHistory";
import type { CallManager, CallView } from "../../matrix/calls";
import { Avatar } from "../../ui/Avatar";
import { CallIcon } from "./CallIcon";
import { MediaView } from "./MediaView";
import { useElapsed } from "./useElapsed";

/** How long the "call ended" screen stays before it closes by itself. */
const ENDED_SCREEN_MS = 4000;

/** An outgoing or ongoing one-to-one call: the other side, our preview, the controls. */
export function CallScreen({ call, calls }: { call: CallView; calls: CallManager }) {
  const { t } = useTranslation();
  const elapsed = useElapsed(call.phase === "connected" ? call.connectedAt : null);
  useEffect(() => {
    if (call.phase !== "ended") return;
    const timer = window.setTimeout(() => calls.dismiss(), ENDED_SCREEN_MS);
    return () => window.clearTimeout(timer);
  }, [call.phase, calls]);

  const remote = call.feeds.find((f) => !f.local && !f.screen);
  const remoteScreen = call.feeds.find((f) => !f.local && f.screen);
  const local = call.feeds.find((f) => f.local && !f.screen);
  const video = call.media === "video";
  const ended = call.phase === "ended";
  const status = ended
    ? t(`calls.ended.${call.endReason ?? "hangup"}`)
    : t(`calls.status.${call.phase}`);
  const main = remoteScreen ?? remote;
  const showRemoteVideo = Boolean(main && (main.screen || (video && !main.videoMuted)));

  return (
    <section className="call-screen" aria-label={t("calls.screen", { name: call.peer.name })}>
      <div className="call-stage">
        {main && <MediaView stream={main.stream} local={false} video={showRemoteVideo} className="call-video" />}
        {remote && main !== remote && <MediaView stream={remote.stream} local={false} video={false} />}
        {!showRemoteVideo && (
          <div className="call-peer">
            <Avatar id={call.peer.userId} name={call.peer.name} mxc={call.peer.avatarMxc} size={96} />
          </div>
        )}
        {video && local && !local.videoMuted && !ended && (
          <MediaView stream={local.stream} local video className="call-video call-preview" />
        )}
      </div>
      <div className="call-info">
        <h2 className="call-name">{call.peer.name}</h2>
        <p className="call-status" role="status" aria-live="polite">
          {status}
        </p>
        {elapsed !== null && !ended && (
          <p className="call-status">
            <span className="visually-hidden">{t("calls.duration")} </span>
            <time>{formatCallDuration(elapsed)}</time>
          </p>
        )}
        {remote?.audioMuted && !ended && <p className="call-remote-muted">{t("calls.remoteMuted", { name: call.peer.name })}</p>}
        {video && remote?.videoMuted && !remoteScreen && !ended && (
          <p className="call-remote-muted">{t("calls.remoteCameraOff", { name: call.peer.name })}</p>
        )}
      </div>
      {ended ? (
        <div className="call-controls">
          <button type="button" className="button" onClick={() => calls.dismiss()}>
            {t("calls.close")}
          </button>
        </div>
      ) : (
        <div className="call-controls" role="toolbar" aria-label={t("calls.controls")}>
          <button
            type="button"
            className="call-button"
            aria-pressed={call.micMuted}
            aria-label={t("calls.muteMic")}
            title={t("calls.muteMic")}
            onClick={() => void calls.setMicMuted(!call.micMuted)}
          >
            <CallIcon name={call.micMuted ? "micOff" : "mic"} />
          </button>
          {video && (
            <button
              type="button"
              className="call-button"
              aria-pressed={call.cameraOff}
              aria-label={t("calls.cameraOff")}
              title={t("calls.cameraOff")}
              onClick={() => void calls.setCameraOff(!call.cameraOff)}
            >
              <CallIcon name={call.cameraOff ? "videoOff" : "video"} />
            </button>
          )}
          {call.phase === "connected" && (
            <button
              type="button"
              className="call-button"
              aria-pressed={call.screenSharing}
              aria-label={t("calls.shareScreen")}
              title={t("calls.shareScreen")}
              onClick={() => void calls.toggleScreenShare()}
            >
              <CallIcon name="screen" />
            </button>
          )}
          <button type="button" className="call-button call-button-hangup" aria-label={t("calls.hangup")} title={t("calls.hangup")} onClick={() => calls.hangup()}>
            <CallIcon name="hangup" />
          </button>
        </div>
      )}
    </section>
  );
}
