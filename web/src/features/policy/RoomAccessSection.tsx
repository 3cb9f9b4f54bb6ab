import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { mayOpenToExternals } from "../../matrix/roomPolicy";
import { explainError } from "./policyErrors";
import "./policy.css";

/** Room settings: the room's access rule; an admin may open a restricted room to external partners (one way). */
export function RoomAccessSection({ roomId }: { roomId: string }) {
  const { t } = useTranslation();
  const session = useSession();
  const [{ rule, maySend }, setRule] = useState(() => session.roomPolicy.accessRule(roomId));
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => session.roomPolicy.watch(roomId, () => setRule(session.roomPolicy.accessRule(roomId))), [session, roomId]);
  async function open() {
    if (!window.confirm(t("policy.access.openConfirm"))) return;
    setBusy(true);
    setStatus(null);
    try {
      await session.roomPolicy.openToExternals(roomId);
      setRule({ rule: "unrestricted", maySend });
      setStatus(t("policy.access.opened"));
    } catch (err) {
      setStatus(explainError(t, err));
    }
    setBusy(false);
  }
  // No rule: the server does not apply the access rules (policy.room_access_rules off).
  if (!rule) return null;
  return (
    <section className="settings-section" aria-labelledby="room-access">
      <h3 id="room-access">{t("policy.access.title")}</h3>
      <div className="access-rule" data-rule={rule}>
        <span className="access-rule-name">{t(`policy.access.${rule}`)}</span>
        <span className="hint">{t(`policy.access.${rule}Hint`)}</span>
      </div>
      {mayOpenToExternals(rule, maySend) && (
        <div className="button-row">
          <button type="button" className="button" disabled={busy} onClick={() => void open()}>
            {t("policy.access.open")}
          </button>
        </div>
      )}
      {status && (
        <p role="status" className="hint">
          {status}
        </p>
      )}
    </section>
  );
}
