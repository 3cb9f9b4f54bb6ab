import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { Icon } from "../../ui/Icon";
import { useStore } from "../../ui/useStore";

/** In a DM: whether the other person is verified, and a button to verify them by emoji. */
export function VerifyUserButton({ userId, roomId, name }: { userId: string; roomId: string; name: string }) {
  const { t } = useTranslation();
  const { verification } = useSession().e2ee;
  const changes = useStore(verification.trustChanges);
  const [verified, setVerified] = useState<{ userId: string; value: boolean } | null>(null);
  useEffect(() => {
    let live = true;
    void verification.isUserVerified(userId).then(
      (value) => live && setVerified({ userId, value }),
      () => live && setVerified(null),
    );
    return () => {
      live = false;
    };
  }, [verification, userId, changes]);
  const known = verified?.userId === userId ? verified.value : null;
  if (known) {
    return (
      <span className="trust-badge trust-verified verify-user" role="status" title={t("verification.userVerified", { name })}>
        <Icon name="shieldCheck" size={16} />
        <span className="verify-user-label">{t("verification.verifiedShort")}</span>
        <span className="visually-hidden"> {t("verification.userVerified", { name })}</span>
      </span>
    );
  }
  return (
    <button
      type="button"
      className="button button-small verify-user"
      disabled={known === null}
      title={t("verification.verifyUser", { name })}
      onClick={() => void verification.verifyUser(userId, roomId)}
    >
      <Icon name="shield" size={16} />
      <span className="verify-user-label">{t("verification.verifyUser", { name })}</span>
    </button>
  );
}
