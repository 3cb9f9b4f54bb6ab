import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { useStore } from "../../ui/useStore";
import type { SessionRow } from "../../matrix/cryptoSessionsState";
import "./sessions.css";

function SessionItem({ row }: { row: SessionRow }) {
  const { t, i18n } = useTranslation();
  const { sessions, verification } = useSession().e2ee;
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(row.displayName ?? "");
  const [error, setError] = useState<string | null>(null);
  const label = row.displayName ?? row.deviceId;

  async function rename(e: FormEvent) {
    e.preventDefault();
    try {
      if (await sessions.rename(row.deviceId, name)) setRenaming(false);
      else setError("sessions.nameInvalid");
    } catch {
      setError("sessions.renameFailed");
    }
  }

  async function signOut() {
    setError(null);
    try {
      await sessions.signOut(row.deviceId);
    } catch {
      setError("sessions.signOutFailed");
    }
  }

  return (
    <li className="session-row" aria-label={label}>
      <div className="session-main">
        <span className="session-name">{label}</span>
        {row.current && <span className="trust-badge">{t("sessions.current")}</span>}
        <span className={`trust-badge trust-${row.trust}`}>{t(`sessions.trust.${row.trust}`)}</span>
      </div>
      <p className="hint">
        {t("sessions.deviceId", { id: row.deviceId })}
        {row.lastSeenTs !== null &&
          ` · ${t("sessions.lastSeen", {
            when: new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium", timeStyle: "short" }).format(row.lastSeenTs),
          })}`}
        {row.lastSeenIp && ` · ${row.lastSeenIp}`}
      </p>
      {renaming ? (
        <form className="inline-form" onSubmit={(e) => void rename(e)}>
          <div className="field">
            <label htmlFor={`session-name-${row.deviceId}`}>{t("sessions.newName")}</label>
            <input id={`session-name-${row.deviceId}`} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} autoFocus />
          </div>
          <div className="button-row">
            <button type="button" className="button button-small" onClick={() => setRenaming(false)}>
              {t("common.cancel")}
            </button>
            <button type="submit" className="button button-small button-primary">
              {t("sessions.saveName")}
            </button>
          </div>
        </form>
      ) : (
        <div className="button-row">
          <button type="button" className="button button-small" onClick={() => setRenaming(true)}>
            {t("sessions.rename", { name: label })}
          </button>
          {row.current && row.trust !== "verified" && (
            <button type="button" className="button button-small" onClick={() => void verification.verifyThisSession()}>
              {t("sessions.verifyThis")}
            </button>
          )}
          {!row.current && row.trust === "unverified" && (
            <button type="button" className="button button-small" onClick={() => void verification.verifyOwnSession(row.deviceId)}>
              {t("sessions.verifyOther", { name: label })}
            </button>
          )}
          {!row.current && (
            <button type="button" className="button button-small button-danger" onClick={() => void signOut()}>
              {t("sessions.signOut", { name: label })}
            </button>
          )}
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {t(error)}
        </p>
      )}
    </li>
  );
}

/** Settings: the account's sessions, each with its verification status; rename or sign out. */
export function SessionsSection() {
  const { t } = useTranslation();
  const { sessions } = useSession().e2ee;
  const rows = useStore(sessions.rows);
  const failed = useStore(sessions.failed);
  useEffect(() => sessions.watch(), [sessions]);
  return (
    <section className="settings-section" aria-labelledby="settings-sessions">
      <h3 id="settings-sessions">{t("sessions.title")}</h3>
      <p className="hint">{t("sessions.intro")}</p>
      {failed && (
        <p className="form-error" role="alert">
          {t("sessions.loadFailed")}
        </p>
      )}
      {rows === null ? (
        <span className="spinner" role="img" aria-label={t("sessions.loading")} />
      ) : (
        <ul className="session-list" aria-label={t("sessions.title")}>
          {rows.map((row) => (
            <SessionItem key={row.deviceId} row={row} />
          ))}
        </ul>
      )}
    </section>
  );
}
