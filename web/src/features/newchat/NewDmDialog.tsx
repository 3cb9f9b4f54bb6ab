import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import type { DirectoryUser } from "../../matrix/roomActions";
import { Avatar } from "../../ui/Avatar";
import { Dialog } from "../../ui/Dialog";

interface Props {
  onClose: () => void;
  onOpenRoom: (roomId: string) => void;
}

/** Find someone in the user directory (name or email) and start a DM. */
export function NewDmDialog({ onClose, onOpenRoom }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const [term, setTerm] = useState("");
  const [results, setResults] = useState<DirectoryUser[]>([]);
  const [searching, setSearching] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const query = term.trim();
    if (query.length < 2) {
      setResults([]);
      return;
    }
    let live = true;
    setSearching(true);
    const timer = window.setTimeout(() => {
      session.actions
        .searchUsers(query)
        .then((users) => live && setResults(users))
        .catch(() => live && setError(t("newChat.searchError")))
        .finally(() => live && setSearching(false));
    }, 250);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [term, session, t]);

  async function start(userId: string) {
    setBusy(true);
    setError(null);
    try {
      const roomId = await session.actions.createDm(userId);
      onClose();
      onOpenRoom(roomId);
    } catch (err) {
      setError(t("newChat.createError", { message: err instanceof Error ? err.message : String(err) }));
      setBusy(false);
    }
  }

  const query = term.trim();
  const looksLikeId = /^@[^:\s]+:\S+$/.test(query);
  return (
    <Dialog title={t("newChat.dmTitle")} onClose={onClose}>
      <div className="field">
        <label htmlFor="dm-search">{t("newChat.searchLabel")}</label>
        <input id="dm-search" type="search" value={term} onChange={(e) => setTerm(e.target.value)} autoFocus autoComplete="off" />
        <p className="hint">{t("newChat.searchHint")}</p>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div aria-live="polite" className="visually-hidden">
        {query.length >= 2 && !searching ? t("newChat.resultCount", { count: results.length }) : ""}
      </div>
      <ul className="result-list" aria-label={t("newChat.results")}>
        {results.map((user) => (
          <li key={user.userId}>
            <button type="button" className="result" disabled={busy} onClick={() => void start(user.userId)}>
              <Avatar id={user.userId} name={user.displayName ?? user.userId} mxc={user.avatarMxc} size={36} />
              <span className="result-text">
                <span className="result-name">{user.displayName ?? user.userId}</span>
                <span className="hint">{user.userId}</span>
              </span>
            </button>
          </li>
        ))}
        {looksLikeId && !results.some((u) => u.userId === query) && (
          <li>
            <button type="button" className="result" disabled={busy} onClick={() => void start(query)}>
              <Avatar id={query} name={query} mxc={null} size={36} />
              <span className="result-text">
                <span className="result-name">{query}</span>
              </span>
            </button>
          </li>
        )}
      </ul>
      {query.length >= 2 && !searching && results.length === 0 && !looksLikeId && <p className="hint">{t("newChat.noResults")}</p>}
    </Dialog>
  );
}
