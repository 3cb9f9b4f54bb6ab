import { describe, expect, it } from "vitest";
import {
  cancelReason,
  emojiNameKey,
  isFinished,
  Phase,
  SAS_EMOJI_NAMES,
  shouldStartSas,
  verificationStep,
  type VerificationSnapshot,
} from "./cryptoVerificationState";

const base: VerificationSnapshot = {
  phase: Phase.Requested,
  initiatedByMe: true,
  isSelfVerification: true,
  otherUserId: "@alice:example.org",
  otherDeviceId: null,
  accepting: false,
  declining: false,
  emojis: null,
  confirmed: false,
  cancellationCode: null,
  cancelledByMe: false,
};
const emojis: [string, string][] = [["🐶", "Dog"], ["🐱", "Cat"], ["🦁", "Lion"], ["🐎", "Horse"], ["🦄", "Unicorn"], ["🐷", "Pig"], ["🐘", "Elephant"]];

describe("verification flow", () => {
  it("walks the initiator through request, start, compare, confirm and done", () => {
    const steps = [
      { ...base },
      { ...base, phase: Phase.Ready },
      { ...base, phase: Phase.Started },
      { ...base, phase: Phase.Started, emojis },
      { ...base, phase: Phase.Started, emojis, confirmed: true },
      { ...base, phase: Phase.Done, emojis, confirmed: true },
    ].map((s) => verificationStep(s).step);
    expect(steps).toEqual(["waitingForAccept", "starting", "starting", "compare", "waitingForOther", "done"]);
  });

  it("lets the other side accept an incoming request", () => {
    const incoming = { ...base, initiatedByMe: false };
    expect(verificationStep(incoming)).toEqual({ step: "incoming" });
    expect(verificationStep({ ...incoming, accepting: true })).toEqual({ step: "accepting" });
    expect(verificationStep({ ...incoming, phase: Phase.Ready })).toEqual({ step: "starting" });
  });

  it("shows the seven emojis to compare", () => {
    expect(verificationStep({ ...base, phase: Phase.Started, emojis })).toEqual({ step: "compare", emojis });
  });

  it("only the initiator starts SAS, once, when both are ready", () => {
    expect(shouldStartSas({ ...base, phase: Phase.Ready }, false)).toBe(true);
    expect(shouldStartSas({ ...base, phase: Phase.Ready }, true)).toBe(false);
    expect(shouldStartSas({ ...base, phase: Phase.Ready, initiatedByMe: false }, false)).toBe(false);
    expect(shouldStartSas({ ...base, phase: Phase.Requested }, false)).toBe(false);
  });

  it("explains why a verification was cancelled", () => {
    const cancelled = (code: string | null, byMe: boolean) =>
      verificationStep({ ...base, phase: Phase.Cancelled, cancellationCode: code, cancelledByMe: byMe });
    expect(cancelled("m.mismatched_sas", false)).toEqual({ step: "cancelled", reason: "mismatch" });
    expect(cancelled("m.mismatched_sas", true)).toEqual({ step: "cancelled", reason: "mismatch" });
    expect(cancelled("m.timeout", false)).toEqual({ step: "cancelled", reason: "timeout" });
    expect(cancelled("m.user", false)).toEqual({ step: "cancelled", reason: "declined" });
    expect(cancelled("m.user", true)).toEqual({ step: "cancelled", reason: "byMe" });
    expect(cancelReason("m.unexpected_message", false)).toBe("byOther");
    expect(cancelReason(null, false)).toBe("unknown");
  });

  it("knows when the flow is over", () => {
    expect(isFinished({ step: "done" })).toBe(true);
    expect(isFinished({ step: "cancelled", reason: "timeout" })).toBe(true);
    expect(isFinished({ step: "compare", emojis })).toBe(false);
  });

  it("names the i18n key of every SAS emoji", () => {
    expect(SAS_EMOJI_NAMES).toHaveLength(64);
    expect(emojiNameKey("Thumbs Up")).toBe("verification.emoji.thumbs_up");
    expect(emojiNameKey("Dog")).toBe("verification.emoji.dog");
  });
});
