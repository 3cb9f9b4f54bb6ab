import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { buildSections, flattenSections, type RoomListRow, type RoomSection } from "../../matrix/roomList";
import { NotificationPrompt } from "../../app/NotificationPrompt";
import { Avatar } from "../../ui/Avatar";
import { Icon } from "../../ui/Icon";
import { useStore } from "../../ui/useStore";
import { ExploreDialog } from "../explore/ExploreDialog";
import { CreateRoomDialog } from "../newchat/CreateRoomDialog";
import { NewDmDialog } from "../newchat/NewDmDialog";
import { SettingsDialog } from "../settings/SettingsDialog";
import { RoomRow } from "./RoomRow";

interface Props {
  selected: string | null;
  onSelect: (roomId: string) => void;
}

type Open = null | "dm" | "room" | "explore" | "settings";

/** The left pane: who I am, new conversation, filter, the sectioned room list. */
export function RoomListPanel({ selected, onSelect }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const rooms = useStore(session.roomList.rooms);
  const profile = useStore(session.profile);
  const [filter, setFilter] = useState("");
  const [collapsed, setCollapsed] = useState<ReadonlySet<RoomSection>>(new Set());
  const [open, setOpen] = useState<Open>(null);
  const rows = useMemo(() => flattenSections(buildSections(rooms, filter), collapsed), [rooms, filter, collapsed]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const filterRef = useRef<HTMLInputElement>(null);
  // Ctrl+K (Cmd+K) jumps to the filter box, as in Element.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        filterRef.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.kind === "header" ? 36 : 60),
    getItemKey: (i) => rowKey(rows[i]!),
    overscan: 8,
  });

  function toggle(section: RoomSection) {
    const next = new Set(collapsed);
    if (next.has(section)) next.delete(section);
    else next.add(section);
    setCollapsed(next);
  }

  return (
    <nav className="room-list-pane" aria-label={t("roomList.label")}>
      <header className="room-list-header">
        <button
          type="button"
          className="profile-button"
          onClick={() => setOpen("settings")}
          title={t("settings.open")}
        >
          <Avatar id={profile.userId} name={profile.displayName} mxc={profile.avatarMxc} size={32} />
          <span className="profile-name">{profile.displayName}</span>
          <span className="visually-hidden">{t("settings.openSuffix")}</span>
          <Icon name="settings" size={18} />
        </button>
      </header>
      <NotificationPrompt />
      <div className="room-list-actions">
        <button
          type="button"
          className="button button-primary button-small"
          onClick={() => setOpen("dm")}
          aria-label={t("newChat.newDmLabel")}
        >
          <Icon name="person" size={16} /> {t("newChat.newDm")}
        </button>
        <button type="button" className="button button-small" onClick={() => setOpen("room")} aria-label={t("newChat.newRoomLabel")}>
          <Icon name="plus" size={16} /> {t("newChat.newRoom")}
        </button>
        <button
          type="button"
          className="icon-button"
          onClick={() => setOpen("explore")}
          aria-label={t("explore.open")}
          title={t("explore.open")}
        >
          <Icon name="compass" />
        </button>
      </div>
      <div className="room-filter">
        <Icon name="search" size={16} />
        <input
          ref={filterRef}
          type="search"
          value={filter}
          onKeyDown={(e) => {
            if (e.key === "Escape") setFilter("");
          }}
          onChange={(e) => setFilter(e.target.value)}
          placeholder={t("roomList.filterPlaceholder")}
          aria-label={t("roomList.filter")}
        />
      </div>
      <div className="room-list-scroll" ref={scrollRef}>
        {rows.length === 0 ? (
          <div className="room-list-empty">
            {filter ? (
              <p>{t("roomList.noMatch", { filter })}</p>
            ) : (
              <>
                <p>{t("roomList.empty")}</p>
                <button type="button" className="button button-primary" onClick={() => setOpen("dm")}>
                  {t("newChat.newDmLabel")}
                </button>
                <button type="button" className="button" onClick={() => setOpen("explore")}>
                  {t("explore.open")}
                </button>
              </>
            )}
          </div>
        ) : (
          <ul className="room-list" style={{ height: virtualizer.getTotalSize() }} aria-label={t("roomList.label")}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index]!;
              return (
                <li
                  key={item.key}
                  data-index={item.index}
                  ref={virtualizer.measureElement}
                  className="room-list-item"
                  style={{ transform: `translateY(${item.start}px)` }}
                >
                  {row.kind === "header" ? (
                    <button
                      type="button"
                      className="section-header"
                      aria-expanded={!collapsed.has(row.section)}
                      onClick={() => toggle(row.section)}
                    >
                      <span className="section-chevron" aria-hidden="true">
                        {collapsed.has(row.section) ? "▸" : "▾"}
                      </span>
                      {t(`roomList.section.${row.section}`)}
                      <span className="section-count">{row.count}</span>
                    </button>
                  ) : (
                    <RoomRow room={row.room} selected={row.room.roomId === selected} onSelect={onSelect} />
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </div>
      {open === "dm" && <NewDmDialog onClose={() => setOpen(null)} onOpenRoom={onSelect} />}
      {open === "room" && <CreateRoomDialog onClose={() => setOpen(null)} onOpenRoom={onSelect} />}
      {open === "explore" && <ExploreDialog onClose={() => setOpen(null)} onOpenRoom={onSelect} />}
      {open === "settings" && <SettingsDialog onClose={() => setOpen(null)} />}
    </nav>
  );
}

function rowKey(row: RoomListRow): string {
  return row.kind === "header" ? `section-${row.section}` : row.room.roomId;
}
