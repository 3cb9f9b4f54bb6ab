import { memo } from "react";
import { useTranslation } from "react-i18next";
import { formatRoute } from "../../app/route";
import type { RoomSummary } from "../../matrix/roomList";
import { Avatar } from "../../ui/Avatar";
import { ExternalBadge } from "../policy/ExternalBadge";

interface Props {
  room: RoomSummary;
  selected: boolean;
  onSelect: (roomId: string) => void;
}

/** One room in the list: avatar, name, last message, unread badge. */
export const RoomRow = memo(function RoomRow({ room, selected, onSelect }: Props) {
  const { t } = useTranslation();
  const preview = room.isInvite
    ? t("roomList.invitedBy", { name: room.inviterName ?? "" })
    : (room.lastMessage ?? (room.encrypted ? t("roomList.encrypted") : t("roomList.noMessages")));
  const badge = room.isInvite ? t("roomList.inviteBadge") : room.unread > 0 ? String(room.unread) : null;
  // Said after the name and preview (the link's name starts with the room's).
  const status = [
    room.isInvite ? t("roomList.a11yInvite") : null,
    room.unread > 0 ? t("roomList.a11yUnread", { count: room.unread }) : null,
    room.highlight > 0 ? t("roomList.a11yMentions", { count: room.highlight }) : null,
  ]
    .filter(Boolean)
    .join(", ");
  return (
    <a
      href={formatRoute({ roomId: room.roomId, threadId: null })}
      className={`room-row${selected ? " room-row-selected" : ""}${room.unread > 0 || room.isInvite ? " room-row-unread" : ""}`}
      aria-current={selected ? "page" : undefined}
      onClick={(e) => {
        e.preventDefault();
        onSelect(room.roomId);
      }}
    >
      <Avatar id={room.roomId} name={room.name} mxc={room.avatarMxc} size={40} />
      <span className="room-row-text">
        <span className="room-row-title">
          <span className="room-row-name">{room.name}</span>
          {room.external && <ExternalBadge />}
        </span>
        <span className="room-row-preview">{preview}</span>
      </span>
      {status && <span className="visually-hidden">, {status}</span>}
      {badge && (
        <span className={`badge${room.highlight > 0 || room.isInvite ? " badge-highlight" : ""}`} aria-hidden="true">
          {badge}
        </span>
      )}
    </a>
  );
});
