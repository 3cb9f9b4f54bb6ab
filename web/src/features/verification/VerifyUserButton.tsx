import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";

/** In a DM: whether the other person is verified, and a button to verify them by emoji. */
export function VerifyUserButton({ userId, roomId, name }: { userId: string; roomId: string; name: string }) {
  const { t } = useTranslation();
  const { verification } = useSession().e2ee;
  const [verified, setVerified] = useState<boolean | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    void verification.isUserVerified(userId).then(
      (v) => live && setVerified(v),
      () => live && setVerified(null),
    );
    const unsubscribe = verification.active.subscribe(() => setTick((n) => n + 1));
    return () => {
      live = false;
      unsubscribe();
    };
  }, [verification, userId, tick]);
  if (verified) {
    return (
      <span className="trust-badge trust-verified" title={t("verification.userVerified", { name })}>
        {t("verification.verifiedShort")}
      </span>
    );
  }
  return (
    <button
      type="button"
      className="button button-small"
      disabled={verified === null}
      onClick={() => void verification.verifyUser(userId, roomId)}
    >
      {t("verification.verifyUser", { name })}
    </button>
  );
}
