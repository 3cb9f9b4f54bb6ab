import { describe, expect, it } from "vitest";
import en from "../../i18n/en.json";
import fr from "../../i18n/fr.json";
import { DECRYPTION_FAILURE_KEYS } from "../../matrix/cryptoFailure";
import { emojiNameKey, SAS_EMOJI_NAMES } from "../../matrix/cryptoVerificationState";

function lookup(catalogue: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), catalogue);
}

const ERROR_KINDS = ["antivirus", "scan_unavailable", "too_large", "forbidden", "network", "cancelled", "unknown"];
const CANCEL_REASONS = ["mismatch", "timeout", "declined", "byMe", "byOther", "unknown"];
const STATES = ["checking", "unavailable", "needsSetup", "needsVerification", "needsBackup", "ready"];

const keys = [
  ...DECRYPTION_FAILURE_KEYS,
  ...SAS_EMOJI_NAMES.map(emojiNameKey),
  ...ERROR_KINDS.map((k) => `files.error.${k}`),
  ...CANCEL_REASONS.map((r) => `verification.cancelled.${r}`),
  ...STATES.map((s) => `crypto.settings.state.${s}`),
];

describe("encryption and files strings", () => {
  it.each([
    ["fr", fr],
    ["en", en],
  ])("are all in the %s catalogue", (_name, catalogue) => {
    const missing = keys.filter((key) => typeof lookup(catalogue, key) !== "string");
    expect(missing).toEqual([]);
  });

  it("say 'antivirus' plainly when a file is refused", () => {
    expect(lookup(fr, "files.error.antivirus")).toMatch(/^Ce fichier a été refusé par l'antivirus/);
  });

  it("give each SAS emoji a distinct French name", () => {
    const names = SAS_EMOJI_NAMES.map((n) => lookup(fr, emojiNameKey(n)));
    expect(new Set(names).size).toBe(64);
  });
});
