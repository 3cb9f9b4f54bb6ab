import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { Dialog } from "../../ui/Dialog";
import { explainError } from "../policy/policyErrors";

interface Props {
  onClose: () => void;
  onOpenRoom: (roomId: string) => void;
}

/** Create a room: encrypted and private unless the user says otherwise. */
export function CreateRoomDialog({ onClose, onOpenRoom }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [encrypted, setEncrypted] = useState(true);
  const [isPublic, setIsPublic] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      setError(t("newChat.nameRequired"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const roomId = await session.actions.createRoom({ name: name.trim(), topic: topic.trim(), encrypted, isPublic });
      onClose();
      onOpenRoom(roomId);
    } catch (err) {
      setError(t("newChat.createError", { message: explainError(t, err) }));
      setBusy(false);
    }
  }

  return (
    <Dialog title={t("newChat.roomTitle")} onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="room-name">{t("newChat.roomName")}</label>
          <input id="room-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus required />
        </div>
        <div className="field">
          <label htmlFor="room-topic">{t("newChat.roomTopic")}</label>
          <input id="room-topic" value={topic} onChange={(e) => setTopic(e.target.value)} />
        </div>
        <div className="checkbox-field">
          <input id="room-encrypted" type="checkbox" checked={encrypted} onChange={(e) => setEncrypted(e.target.checked)} />
          <label htmlFor="room-encrypted">{t("newChat.encrypted")}</label>
        </div>
        <p className="hint">{encrypted ? t("newChat.encryptedHint") : t("newChat.unencryptedWarning")}</p>
        <div className="checkbox-field">
          <input id="room-public" type="checkbox" checked={isPublic} onChange={(e) => setIsPublic(e.target.checked)} />
          <label htmlFor="room-public">{t("newChat.public")}</label>
        </div>
        <p className="hint">{isPublic ? t("newChat.publicHint") : t("newChat.privateHint")}</p>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="button-row">
          <button type="submit" className="button button-primary" disabled={busy}>
            {t("newChat.create")}
          </button>
          <button type="button" className="button" onClick={onClose}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
