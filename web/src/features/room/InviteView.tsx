import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import type { RoomInfo } from "../../matrix/roomView";
import { Avatar } from "../../ui/Avatar";
import { Icon } from "../../ui/Icon";
import { explainError } from "../policy/policyErrors";

interface Props {
  info: RoomInfo;
  onBack: () => void;
  onOpenRoom: (roomId: string | null) => void;
}

/** An invitation: who invited me, accept or decline. */
export function InviteView({ info, onBack, onOpenRoom }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function act(action: () => Promise<unknown>, after: () => void) {
    setBusy(true);
    setError(null);
    try {
      await action();
      after();
    } catch (err) {
      setError(t("errors.generic", { message: explainError(t, err) }));
      setBusy(false);
    }
  }
  return (
    <div className="room">
      <section className="room-main" aria-label={info.name}>
        <header className="room-header">
          <button type="button" className="icon-button back-button" onClick={onBack} aria-label={t("room.back")}>
            <Icon name="back" />
          </button>
          <h1 className="room-title">{info.name}</h1>
        </header>
        <div className="invite-view">
          <Avatar id={info.roomId} name={info.name} mxc={info.avatarMxc} size={72} />
          <h2>{info.isDirect ? t("invite.dmTitle", { name: info.inviterName ?? info.name }) : t("invite.title", { room: info.name })}</h2>
          {info.inviterName && !info.isDirect && <p>{t("invite.by", { name: info.inviterName })}</p>}
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="button-row">
            <button
              type="button"
              className="button button-primary"
              disabled={busy}
              onClick={() => void act(() => session.actions.join(info.roomId), () => onOpenRoom(info.roomId))}
            >
              {t("invite.accept")}
            </button>
            <button
              type="button"
              className="button button-danger"
              disabled={busy}
              onClick={() => void act(() => session.actions.decline(info.roomId), () => onOpenRoom(null))}
            >
              {t("invite.decline")}
            </button>
          </div>
        </div>
      </section>
    </div>
  );
}
