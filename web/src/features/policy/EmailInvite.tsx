import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { isEmailAddress, type PendingEmailInvite } from "../../matrix/roomPolicy";
import { explainError } from "./policyErrors";
import "./policy.css";

/** Room settings: invite an address that has no Matrix ID, and list the pending email invitations (masked). */
export function EmailInvite({ roomId, canInvite }: { roomId: string; canInvite: boolean }) {
  const { t } = useTranslation();
  const session = useSession();
  const [address, setAddress] = useState("");
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState<PendingEmailInvite[]>(() => session.roomPolicy.pendingEmailInvites(roomId));
  useEffect(
    () => session.roomPolicy.watch(roomId, () => setPending(session.roomPolicy.pendingEmailInvites(roomId))),
    [session, roomId],
  );
  const valid = isEmailAddress(address);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!valid) return;
    setBusy(true);
    setStatus(null);
    try {
      await session.roomPolicy.inviteByEmail(roomId, address);
      setStatus({ text: t("policy.emailInvite.sent", { address: address.trim() }), error: false });
      setAddress("");
    } catch (err) {
      setStatus({ text: explainError(t, err), error: true });
    }
    setBusy(false);
  }

  return (
    <>
      {canInvite && (
        <form className="form" onSubmit={(e) => void submit(e)} noValidate>
          <div className="field">
            <label htmlFor="room-email-invite">{t("policy.emailInvite.label")}</label>
            <input
              id="room-email-invite"
              type="email"
              inputMode="email"
              autoComplete="off"
              value={address}
              onChange={(e) => setAddress(e.target.value)}
            />
            <p className="hint">{t("policy.emailInvite.hint")}</p>
          </div>
          <button type="submit" className="button button-small" disabled={!valid || busy}>
            {t("policy.emailInvite.send", { address: valid ? address.trim() : "" })}
          </button>
          {status && (
            <p role={status.error ? "alert" : "status"} className={status.error ? "form-error" : "hint"}>
              {status.text}
            </p>
          )}
        </form>
      )}
      {pending.length > 0 && (
        <ul className="pending-invites" aria-label={t("policy.emailInvite.pendingTitle")}>
          {pending.map((invite) => (
            <li key={invite.token} className="hint">
              {t("policy.emailInvite.pending", { address: invite.displayName })}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
