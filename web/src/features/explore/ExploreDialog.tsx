import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import type { PublicRoom } from "../../matrix/roomActions";
import { Avatar } from "../../ui/Avatar";
import { Dialog } from "../../ui/Dialog";
import { explainError } from "../policy/policyErrors";

interface Props {
  onClose: () => void;
  onOpenRoom: (roomId: string) => void;
}

/** The server's public room directory: search, then join or open. */
export function ExploreDialog({ onClose, onOpenRoom }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const [filter, setFilter] = useState("");
  const [rooms, setRooms] = useState<PublicRoom[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [joining, setJoining] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setLoading(true);
    const timer = window.setTimeout(() => {
      session.actions
        .publicRooms(filter.trim())
        .then((page) => {
          if (!live) return;
          setRooms(page.rooms);
          setNext(page.next);
          setError(null);
        })
        .catch(() => live && setError(t("explore.error")))
        .finally(() => live && setLoading(false));
    }, 250);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [filter, session, t]);

  async function more() {
    if (!next) return;
    const page = await session.actions.publicRooms(filter.trim(), next);
    setRooms((r) => [...r, ...page.rooms]);
    setNext(page.next);
  }

  async function join(room: PublicRoom) {
    const joined = session.client.getRoom(room.roomId)?.getMyMembership() === "join";
    if (joined) {
      onClose();
      onOpenRoom(room.roomId);
      return;
    }
    setJoining(room.roomId);
    try {
      const roomId = await session.actions.join(room.alias ?? room.roomId);
      onClose();
      onOpenRoom(roomId);
    } catch (err) {
      setError(t("explore.joinError", { message: explainError(t, err) }));
      setJoining(null);
    }
  }

  return (
    <Dialog title={t("explore.title")} onClose={onClose} wide>
      <div className="field">
        <label htmlFor="explore-filter">{t("explore.search")}</label>
        <input id="explore-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} autoFocus />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!loading && rooms.length === 0 && !error && <p className="hint">{filter ? t("explore.noMatch") : t("explore.empty")}</p>}
      <ul className="result-list" aria-label={t("explore.results")} aria-busy={loading}>
        {rooms.map((room) => {
          const joined = session.client.getRoom(room.roomId)?.getMyMembership() === "join";
          const name = room.name ?? room.alias ?? room.roomId;
          return (
            <li key={room.roomId} className="public-room">
              <Avatar id={room.roomId} name={name} mxc={room.avatarMxc} size={40} />
              <span className="result-text">
                <span className="result-name">{name}</span>
                {room.topic && <span className="hint">{room.topic}</span>}
                <span className="hint">{t("room.members", { count: room.memberCount })}</span>
              </span>
              <button
                type="button"
                className="button button-small"
                disabled={joining !== null}
                aria-label={joined ? t("explore.openRoom", { name }) : t("explore.joinRoom", { name })}
                onClick={() => void join(room)}
              >
                {joined ? t("explore.openShort") : t("explore.join")}
              </button>
            </li>
          );
        })}
      </ul>
      {next && (
        <button type="button" className="button" onClick={() => void more()}>
          {t("explore.more")}
        </button>
      )}
    </Dialog>
  );
}
