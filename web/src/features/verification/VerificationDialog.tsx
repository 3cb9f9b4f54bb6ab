import { useTranslation } from "react-i18next";
import { Dialog } from "../../ui/Dialog";
import { useStore } from "../../ui/useStore";
import type { VerificationCenter, VerificationFlow } from "../../matrix/cryptoVerification";
import { emojiNameKey } from "../../matrix/cryptoVerificationState";

/** Emoji (SAS) verification, of one's own session or of another user, step by step. */
export function VerificationDialog({ center, flow, otherName }: { center: VerificationCenter; flow: VerificationFlow; otherName: string }) {
  const { t } = useTranslation();
  const step = useStore(flow.step);
  const self = flow.isSelfVerification;
  const close = () => center.close();
  const title = self ? t("verification.titleSelf") : t("verification.titleUser", { name: otherName });

  let body;
  switch (step.step) {
    case "waitingForAccept":
      body = (
        <>
          <p>{self ? t("verification.waitingSelf") : t("verification.waitingUser", { name: otherName })}</p>
          <span className="spinner" aria-hidden="true" />
          <div className="button-row">
            <button type="button" className="button" onClick={close}>
              {t("common.cancel")}
            </button>
          </div>
        </>
      );
      break;
    case "incoming":
      body = (
        <>
          <p>
            {!self
              ? t("verification.incomingUser", { name: otherName })
              : flow.otherDeviceId
                ? t("verification.incomingSelfDevice", { device: flow.otherDeviceId })
                : t("verification.incomingSelf")}
          </p>
          <p className="hint">{t("verification.incomingHint")}</p>
          <div className="button-row">
            <button type="button" className="button" onClick={close}>
              {t("verification.decline")}
            </button>
            <button type="button" className="button button-primary" onClick={() => void flow.accept()}>
              {t("verification.accept")}
            </button>
          </div>
        </>
      );
      break;
    case "accepting":
    case "starting":
      body = (
        <>
          <p role="status">{t("verification.starting")}</p>
          <span className="spinner" aria-hidden="true" />
          <div className="button-row">
            <button type="button" className="button" onClick={close}>
              {t("common.cancel")}
            </button>
          </div>
        </>
      );
      break;
    case "compare":
      body = (
        <>
          <p>{self ? t("verification.compareSelf") : t("verification.compareUser", { name: otherName })}</p>
          <ol className="sas-emojis" aria-label={t("verification.emojiList")}>
            {step.emojis.map(([emoji, name], i) => (
              <li key={i} className="sas-emoji">
                <span className="sas-emoji-symbol" aria-hidden="true">
                  {emoji}
                </span>
                <span className="sas-emoji-name">{t(emojiNameKey(name), { defaultValue: name })}</span>
              </li>
            ))}
          </ol>
          <div className="button-row">
            <button type="button" className="button button-danger" onClick={() => flow.mismatch()}>
              {t("verification.noMatch")}
            </button>
            <button type="button" className="button button-primary" onClick={() => void flow.confirm()}>
              {t("verification.match")}
            </button>
          </div>
        </>
      );
      break;
    case "waitingForOther":
      body = (
        <>
          <p role="status">{self ? t("verification.waitingConfirmSelf") : t("verification.waitingConfirmUser", { name: otherName })}</p>
          <span className="spinner" aria-hidden="true" />
        </>
      );
      break;
    case "done":
      body = (
        <>
          <p role="status" className="verification-done">
            {self ? t("verification.doneSelf") : t("verification.doneUser", { name: otherName })}
          </p>
          <div className="button-row">
            <button type="button" className="button button-primary" onClick={close}>
              {t("verification.finish")}
            </button>
          </div>
        </>
      );
      break;
    case "cancelled":
      body = (
        <>
          <p role="alert">{t(`verification.cancelled.${step.reason}`)}</p>
          <div className="button-row">
            <button type="button" className="button" onClick={close}>
              {t("common.close")}
            </button>
          </div>
        </>
      );
      break;
  }
  return (
    <Dialog title={title} onClose={close}>
      <div className="verification">{body}</div>
    </Dialog>
  );
}
