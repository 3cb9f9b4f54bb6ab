import type { TFunction } from "i18next";
import { MatrixHttpError, NetworkError } from "../../matrix/http";
import { policyMessageKey } from "../policy/policyErrors";

/** A server or network error as a sentence for the user. */
export function errorMessage(t: TFunction, error: unknown): string {
  if (error instanceof NetworkError) return t("errors.network");
  if (error instanceof MatrixHttpError) {
    const policyKey = policyMessageKey(error);
    if (policyKey) return t(policyKey);
    switch (error.errcode) {
      case "M_FORBIDDEN":
        return t("errors.forbidden");
      case "M_USER_DEACTIVATED":
        return t("errors.deactivated");
      case "M_LIMIT_EXCEEDED":
        return t("errors.rateLimited");
      case "M_USER_IN_USE":
        return t("errors.userInUse");
      case "M_INVALID_USERNAME":
        return t("errors.invalidUsername");
      case "M_WEAK_PASSWORD":
      case "M_PASSWORD_TOO_SHORT":
      case "M_PASSWORD_NO_DIGIT":
      case "M_PASSWORD_NO_SYMBOL":
      case "M_PASSWORD_NO_UPPERCASE":
      case "M_PASSWORD_NO_LOWERCASE":
        return t("errors.weakPassword");
      case "M_THREEPID_IN_USE":
        return t("errors.emailInUse");
      case "M_THREEPID_DENIED":
        return t("errors.emailDenied");
      case "M_THREEPID_NOT_FOUND":
        return t("errors.emailNotFound");
      case "M_UNRECOGNIZED":
      case "M_UNKNOWN":
        if (error.status === 400 && /thirdparty|identifier/i.test(error.message)) return t("errors.emailLoginUnsupported");
        return t("errors.generic", { message: error.message });
      default:
        return t("errors.generic", { message: error.message });
    }
  }
  return t("errors.generic", { message: String(error) });
}
