import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { Dialog } from "../../ui/Dialog";
import { UserSearch } from "./UserSearch";
import { explainError } from "../policy/policyErrors";

interface Props {
  onClose: () => void;
  onOpenRoom: (roomId: string) => void;
}

/** Find someone in the user directory (name or email) and start a DM. */
export function NewDmDialog({ onClose, onOpenRoom }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function start(userId: string) {
    setBusy(true);
    setError(null);
    try {
      const roomId = await session.actions.createDm(userId);
      onClose();
      onOpenRoom(roomId);
    } catch (err) {
      setError(t("newChat.createError", { message: explainError(t, err) }));
      setBusy(false);
    }
  }

  return (
    <Dialog title={t("newChat.dmTitle")} onClose={onClose}>
      <UserSearch id="dm-search" label={t("newChat.searchLabel")} busy={busy} onPick={(id) => void start(id)} exclude={new Set([session.userId])} />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
