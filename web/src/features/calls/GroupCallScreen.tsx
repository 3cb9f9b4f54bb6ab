import { useTranslation } from "react-i18next";
import type { FeedView } from "../../matrix/calls";
import type { GroupCallManager, GroupCallView } from "../../matrix/groupCalls";
import { Avatar } from "../../ui/Avatar";
import { CallIcon } from "./CallIcon";
import { MediaView } from "./MediaView";

function Tile({ feed, video }: { feed: FeedView; video: boolean }) {
  const { t } = useTranslation();
  const showVideo = video && !feed.videoMuted;
  return (
    <li className="call-tile">
      <MediaView stream={feed.stream} local={feed.local} video={showVideo} className="call-video" />
      {!showVideo && (
        <div className="call-peer">
          <Avatar id={feed.userId} name={feed.name} mxc={null} size={64} />
        </div>
      )}
      <p className="call-tile-name">
        {feed.local ? t("calls.you", { name: feed.name }) : feed.name}
        {feed.audioMuted && (
          <span className="call-tile-muted" title={t("calls.micMuted")}>
            <CallIcon name="micOff" size={16} />
            <span className="visually-hidden">{t("calls.micMuted")}</span>
          </span>
        )}
      </p>
    </li>
  );
}

/** The group call we are in: a grid of participants, mute indicators, the controls. */
export function GroupCallScreen({ call, groupCalls, roomName }: { call: GroupCallView; groupCalls: GroupCallManager; roomName: string }) {
  const { t } = useTranslation();
  const video = call.media === "video";
  return (
    <section className="call-screen call-screen-group" aria-label={t("calls.groupScreen", { name: roomName })}>
      <div className="call-info">
        <h2 className="call-name">{roomName}</h2>
        <p className="call-status" role="status" aria-live="polite">
          {call.joining ? t("calls.status.joining") : t("calls.participants", { count: call.participants.length })}
        </p>
      </div>
      <ul className={`call-grid call-grid-${Math.min(call.feeds.length, 6)}`} aria-label={t("calls.participantList")}>
        {call.feeds.map((feed) => (
          <Tile key={feed.key} feed={feed} video={video} />
        ))}
      </ul>
      <div className="call-controls" role="toolbar" aria-label={t("calls.controls")}>
        <button
          type="button"
          className="call-button"
          aria-pressed={call.micMuted}
          aria-label={t("calls.muteMic")}
          title={t("calls.muteMic")}
          disabled={call.joining}
          onClick={() => void groupCalls.setMicMuted(!call.micMuted)}
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
            disabled={call.joining}
            onClick={() => void groupCalls.setCameraOff(!call.cameraOff)}
          >
            <CallIcon name={call.cameraOff ? "videoOff" : "video"} />
          </button>
        )}
        <button type="button" className="call-button call-button-hangup" aria-label={t("calls.leave")} title={t("calls.leave")} onClick={() => void groupCalls.leave()}>
          <CallIcon name="hangup" />
        </button>
      </div>
    </section>
  );
}
