import { useState } from "react";
import { useTranslation } from "react-i18next";
import { DropHint, UploadList } from "../files/UploadList";
import { useFileDrop } from "../files/useFileDrop";
import { VerifyUserButton } from "../verification/VerifyUserButton";
import { useSession } from "../../app/sessionContext";
import type { RoomViewModel } from "../../matrix/roomView";
import type { TimelineEvent } from "../../matrix/timeline";
import { Avatar } from "../../ui/Avatar";
import { Icon } from "../../ui/Icon";
import { useStore } from "../../ui/useStore";
import { CallButtons } from "../calls/CallButtons";
import { ExternalBadge } from "../policy/ExternalBadge";
import { Composer, type ComposerMode } from "../composer/Composer";
import { Timeline } from "../timeline/Timeline";
import { TypingIndicator } from "../timeline/TypingIndicator";
import { InviteView } from "./InviteView";
import { RoomSettingsDialog } from "./RoomSettingsDialog";
import { useRoomView } from "./useRoomView";

interface Props {
  roomId: string;
  threadId: string | null;
  onBack: () => void;
  onOpenThread: (threadId: string | null) => void;
  onOpenRoom: (roomId: string | null) => void;
}

export function RoomScreen({ roomId, threadId, onBack, onOpenThread, onOpenRoom }: Props) {
  const { t } = useTranslation();
  const vm = useRoomView(roomId);
  const session = useSession();
  if (!vm) {
    const known = session.client.getRoom(roomId);
    return (
      <div className="empty-state">
        <p>{known ? t("app.loading") : t("room.notFound")}</p>
        <button type="button" className="button" onClick={onBack}>
          {t("room.backToList")}
        </button>
      </div>
    );
  }
  return <OpenRoom vm={vm} threadId={threadId} onBack={onBack} onOpenThread={onOpenThread} onOpenRoom={onOpenRoom} />;
}

function OpenRoom({ vm, threadId, onBack, onOpenThread, onOpenRoom }: Omit<Props, "roomId"> & { vm: RoomViewModel }) {
  const { t } = useTranslation();
  const session = useSession();
  const info = useStore(vm.info);
  const rooms = useStore(session.roomList.rooms);
  const summary = rooms.find((r) => r.roomId === info.roomId);
  const [mode, setMode] = useState<ComposerMode>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const drop = useFileDrop(info.roomId, threadId);
  const dmPartner = info.isDirect ? session.e2ee.verification.dmPartner(info.roomId) : null;

  if (info.membership === "invite") {
    return <InviteView info={info} onBack={onBack} onOpenRoom={onOpenRoom} />;
  }
  const startReply = (event: TimelineEvent) => setMode({ kind: "reply", event });
  const startEdit = (event: TimelineEvent) => setMode({ kind: "edit", event });
  const favourite = summary?.favourite ?? false;

  return (
    <div className={threadId ? "room room-with-thread" : "room"}>
      <section className="room-main drop-zone" aria-label={info.name} {...drop.handlers}>
        {drop.dragging && <DropHint />}
        <header className="room-header">
          <button type="button" className="icon-button back-button" onClick={onBack} aria-label={t("room.back")}>
            <Icon name="back" />
          </button>
          <Avatar id={info.roomId} name={info.name} mxc={info.avatarMxc} size={36} />
          <div className="room-header-text">
            <h1 className="room-title">
              <span className="room-title-text">{info.name}</span>
              {info.partnerExternal && <ExternalBadge className="external-badge-wide" />}
              {info.encrypted && (
                <span className="encrypted-mark" title={t("room.encrypted")}>
                  <Icon name="lock" size={14} />
                  <span className="visually-hidden">{t("room.encrypted")}</span>
                </span>
              )}
            </h1>
            <p className="room-topic">
              {info.partnerExternal && <ExternalBadge className="external-badge-narrow" />}
              {info.topic ?? (info.isDirect ? t("room.directChat") : t("room.members", { count: info.joinedCount }))}
            </p>
          </div>
          <CallButtons roomId={info.roomId} joinedCount={info.joinedCount} />
          {dmPartner && <VerifyUserButton userId={dmPartner.userId} roomId={info.roomId} name={dmPartner.name} />}
          <button
            type="button"
            className={`icon-button${favourite ? " icon-button-active" : ""}`}
            aria-pressed={favourite}
            aria-label={t("room.favourite")}
            title={t("room.favourite")}
            onClick={() => void session.actions.setTag(info.roomId, "m.favourite", !favourite)}
          >
            <Icon name="star" />
          </button>
          <button
            type="button"
            className="icon-button"
            aria-label={t("roomSettings.open")}
            title={t("roomSettings.open")}
            onClick={() => setSettingsOpen(true)}
          >
            <Icon name="settings" />
          </button>
        </header>
        {info.joinedCount <= 1 && info.membership === "join" && (
          <div className="room-hint" role="note">
            {info.isDirect ? (
              <p>{t("room.waitingForOther")}</p>
            ) : (
              <>
                <p>{t("room.alone")}</p>
                {info.can.invite && (
                  <button type="button" className="button button-small" onClick={() => setSettingsOpen(true)}>
                    {t("room.invitePeople")}
                  </button>
                )}
              </>
            )}
          </div>
        )}
        <Timeline vm={vm} onReply={startReply} onEdit={startEdit} onOpenThread={(id) => onOpenThread(id)} />
        <TypingIndicator vm={vm} />
        <UploadList roomId={info.roomId} />
        <Composer vm={vm} mode={mode} onModeChange={setMode} />
      </section>
      {threadId && <ThreadPanel roomId={info.roomId} threadId={threadId} onClose={() => onOpenThread(null)} />}
      {settingsOpen && (
        <RoomSettingsDialog
          vm={vm}
          onClose={() => setSettingsOpen(false)}
          onLeft={() => {
            setSettingsOpen(false);
            onOpenRoom(null);
          }}
        />
      )}
    </div>
  );
}

function ThreadPanel({ roomId, threadId, onClose }: { roomId: string; threadId: string; onClose: () => void }) {
  const { t } = useTranslation();
  const vm = useRoomView(roomId, threadId);
  const [mode, setMode] = useState<ComposerMode>(null);
  return (
    <aside className="thread-panel" aria-label={t("thread.title")}>
      <header className="room-header">
        <button type="button" className="icon-button" onClick={onClose} aria-label={t("thread.close")}>
          <Icon name="close" />
        </button>
        <h2 className="room-title">{t("thread.title")}</h2>
      </header>
      {vm ? (
        <>
          <Timeline
            vm={vm}
            onReply={(event) => setMode({ kind: "reply", event })}
            onEdit={(event) => setMode({ kind: "edit", event })}
          />
          <TypingIndicator vm={vm} />
          <Composer vm={vm} mode={mode} onModeChange={setMode} placeholder={t("thread.placeholder")} />
        </>
      ) : (
        <p className="empty-state">{t("app.loading")}</p>
      )}
    </aside>
  );
}
