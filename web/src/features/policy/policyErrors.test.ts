import i18next from "i18next";
import { beforeAll, describe, expect, it } from "vitest";
import en from "../../i18n/en.json";
import fr from "../../i18n/fr.json";
import { MatrixHttpError } from "../../matrix/http";
import { MediaBlockedError, ScanUnavailableError } from "../../matrix/contentScan";
import { PASSWORD_ERRCODES, POLICY_CODES, explainError, policyMessageKey, scanRefusalKey, serverSentence } from "./policyErrors";

beforeAll(async () => {
  await i18next.init({ resources: { fr: { translation: fr }, en: { translation: en } }, lng: "fr", fallbackLng: "fr" });
});

/** The SDK's MatrixError keeps the body in `data`. */
function sdkError(body: Record<string, unknown>, status = 403) {
  return Object.assign(new Error(String(body.error)), { errcode: body.errcode, data: body, httpStatus: status });
}

describe("policy refusals", () => {
  it("has a French and an English message for every code the server sends", () => {
    const missing = POLICY_CODES.filter(
      (code) => !(code in fr.policy.refusals) || !(code in en.policy.refusals),
    );
    expect(missing).toEqual([]);
    for (const code of PASSWORD_ERRCODES) {
      expect(fr.policy.password[code]).toBeTruthy();
      expect(en.policy.password[code]).toBeTruthy();
    }
  });

  it("maps a policy code to its message, from either HTTP layer", () => {
    const body = { errcode: "M_FORBIDDEN", policy: "DIRECT_ROOM_FULL", error: "Une conversation privée ne réunit que deux personnes / A direct chat has two members" };
    expect(policyMessageKey(sdkError(body))).toBe("policy.refusals.DIRECT_ROOM_FULL");
    expect(policyMessageKey(new MatrixHttpError(403, "M_FORBIDDEN", body.error, body))).toBe("policy.refusals.DIRECT_ROOM_FULL");
    expect(explainError(i18next.t, sdkError(body))).toBe(fr.policy.refusals.DIRECT_ROOM_FULL);
  });

  it("maps weak-password errcodes to what is missing", () => {
    expect(policyMessageKey(new MatrixHttpError(400, "M_PASSWORD_NO_DIGIT", "no digit"))).toBe("policy.password.M_PASSWORD_NO_DIGIT");
    expect(explainError(i18next.t, new MatrixHttpError(400, "M_PASSWORD_TOO_SHORT", "short"))).toBe("Le mot de passe est trop court.");
  });

  it("shows the server's sentence in the reader's language for a code it does not know", () => {
    const body = { errcode: "M_FORBIDDEN", policy: "SOMETHING_NEW", error: "Nouvelle règle / New rule" };
    expect(policyMessageKey(sdkError(body))).toBeNull();
    expect(explainError(i18next.t, sdkError(body), "fr")).toBe("Nouvelle règle");
    expect(explainError(i18next.t, sdkError(body), "en")).toBe("New rule");
    expect(serverSentence("pas de séparateur", "en")).toBe("pas de séparateur");
  });

  it("leaves other errors as the server said them", () => {
    expect(policyMessageKey(sdkError({ errcode: "M_FORBIDDEN", error: "Not allowed" }))).toBeNull();
    expect(explainError(i18next.t, sdkError({ errcode: "M_FORBIDDEN", error: "Not allowed" }))).toBe("Not allowed");
    expect(explainError(i18next.t, new Error("boom"))).toBe("boom");
  });
});

describe("scanner refusals", () => {
  it("names a blocked file and an unavailable scanner, and nothing else", () => {
    expect(scanRefusalKey(new MediaBlockedError("Eicar"))).toBe("policy.scan.blocked");
    expect(i18next.t("policy.scan.blocked")).toBe("Fichier bloqué par l'antivirus");
    expect(scanRefusalKey(new ScanUnavailableError(502))).toBe("policy.scan.unavailable");
    expect(scanRefusalKey(new Error("media hash mismatch"))).toBeNull();
  });
});
