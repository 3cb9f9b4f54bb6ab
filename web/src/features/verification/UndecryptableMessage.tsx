import { useTranslation } from "react-i18next";
import { decryptionFailureView } from "../../matrix/cryptoFailure";
import { Icon } from "../../ui/Icon";

/**
 * In place of a message that cannot be decrypted (yet): why, in plain words.
 * When the key arrives the SDK decrypts the event and the timeline re-renders
 * it as a normal message; nothing to do here.
 */
export function UndecryptableMessage({ code }: { code: string | null }) {
  const { t } = useTranslation();
  const view = decryptionFailureView(code);
  return (
    <p className="event-undecryptable" data-decryption-failure={code ?? "pending"}>
      <Icon name="lock" size={16} /> <span>{t(view.messageKey)}</span>
    </p>
  );
}
