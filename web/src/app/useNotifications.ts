import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { pageTitle } from "../matrix/connection";
import { unreadRoomCount, type RoomSummary } from "../matrix/roomList";
import type { MatrixSession } from "../matrix/session";

/** Unread count in the page title; a browser notification per new message while hidden. */
export function useNotifications(session: MatrixSession, rooms: RoomSummary[], roomName: string | null, onOpen: (roomId: string) => void) {
  const { t } = useTranslation();
  const unread = unreadRoomCount(rooms);
  useEffect(() => {
    document.title = pageTitle(session.config.brand, unread, roomName);
  }, [session, unread, roomName]);

  useEffect(() => {
    return session.onNotify((note) => {
      if (!document.hidden || typeof Notification === "undefined" || Notification.permission !== "granted") return;
      if (localStorage.getItem("sceau.notifications") === "off") return;
      const body = note.body ?? t("notifications.encrypted");
      const notification = new Notification(note.roomName, {
        body: note.roomName === note.senderName ? body : t("notifications.body", { sender: note.senderName, body }),
        tag: note.roomId,
      });
      notification.onclick = () => {
        window.focus();
        onOpen(note.roomId);
        notification.close();
      };
    });
  }, [session, t, onOpen]);
}
