import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import type { DirectoryUser } from "../../matrix/roomActions";
import { Avatar } from "../../ui/Avatar";
import { ExternalBadge } from "../policy/ExternalBadge";

const USER_ID = /^@[^:\s]+:\S+$/;

interface Props {
  id: string;
  label: string;
  busy: boolean;
  onPick: (userId: string) => void;
  exclude?: ReadonlySet<string>;
}

/** Search the user directory by name or email; a full user ID can be picked as typed. */
export function UserSearch({ id, label, busy, onPick, exclude }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const [term, setTerm] = useState("");
  const [results, setResults] = useState<DirectoryUser[]>([]);
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [typedProfile, setTypedProfile] = useState<DirectoryUser | null>(null);
  const query = term.trim();
  const typedFullId = USER_ID.test(query);

  useEffect(() => {
    setTypedProfile(null);
    if (!typedFullId) return;
    let live = true;
    const timer = window.setTimeout(() => {
      void session.actions.lookupUser(query).then((found) => live && setTypedProfile(found));
    }, 250);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [query, typedFullId, session]);

  useEffect(() => {
    if (query.length < 2) {
      setResults([]);
      return;
    }
    let live = true;
    setSearching(true);
    const timer = window.setTimeout(() => {
      session.actions
        .searchUsers(query)
        .then((users) => {
          if (!live) return;
          setResults(users);
          setError(null);
        })
        .catch(() => live && setError(t("newChat.searchError")))
        .finally(() => live && setSearching(false));
    }, 250);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [query, session, t]);

  const shown = results.filter((u) => !exclude?.has(u.userId));
  const typedId = typedFullId && !results.some((u) => u.userId === query) && !exclude?.has(query);
  return (
    <>
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <input id={id} type="search" value={term} onChange={(e) => setTerm(e.target.value)} autoComplete="off" />
        <p className="hint">{t("newChat.searchHint")}</p>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div aria-live="polite" className="visually-hidden">
        {query.length >= 2 && !searching ? t("newChat.resultCount", { count: shown.length }) : ""}
      </div>
      {(shown.length > 0 || typedId) && (
        <ul className="result-list" aria-label={t("newChat.results")}>
          {shown.map((user) => (
            <li key={user.userId}>
              <button type="button" className="result" disabled={busy} onClick={() => onPick(user.userId)}>
                <Avatar id={user.userId} name={user.displayName ?? user.userId} mxc={user.avatarMxc} size={36} />
                <span className="result-text">
                  <span className="result-name">
                    {user.displayName ?? user.userId}
                    {user.external && <> <ExternalBadge /></>}
                  </span>
                  <span className="hint">{user.userId}</span>
                </span>
              </button>
            </li>
          ))}
          {typedId && (
            <li>
              <button type="button" className="result" disabled={busy} onClick={() => onPick(query)}>
                <Avatar id={query} name={typedProfile?.displayName ?? query} mxc={typedProfile?.avatarMxc ?? null} size={36} />
                <span className="result-text">
                  <span className="result-name">
                    {typedProfile?.displayName ?? query}
                    {typedProfile?.external && <> <ExternalBadge /></>}
                  </span>
                  {typedProfile?.displayName && <span className="hint">{query}</span>}
                </span>
              </button>
            </li>
          )}
        </ul>
      )}
      {query.length >= 2 && !searching && shown.length === 0 && !typedId && <p className="hint">{t("newChat.noResults")}</p>}
    </>
  );
}
