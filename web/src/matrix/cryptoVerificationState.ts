/**
 * The emoji (SAS) verification flow as the user sees it, derived from a plain
 * snapshot of matrix-js-sdk's VerificationRequest and Verifier. Pure, so the
 * whole state machine is tested without a server; cryptoVerification.ts feeds it.
 */

/** matrix-js-sdk's VerificationPhase values (a const enum there; copied as numbers). */
export const Phase = {
  Unsent: 1,
  Requested: 2,
  Ready: 3,
  Started: 4,
  Cancelled: 5,
  Done: 6,
} as const;

export interface VerificationSnapshot {
  phase: number;
  initiatedByMe: boolean;
  isSelfVerification: boolean;
  otherUserId: string;
  otherDeviceId: string | null;
  accepting: boolean;
  declining: boolean;
  /** [emoji, English name] ×7 once both sides have exchanged keys. */
  emojis: [string, string][] | null;
  /** The user pressed "they match" and we wait for the other side's MAC. */
  confirmed: boolean;
  cancellationCode: string | null;
  cancelledByMe: boolean;
}

export type CancelReason = "mismatch" | "timeout" | "declined" | "byMe" | "byOther" | "unknown";

export type VerificationStep =
  | { step: "waitingForAccept" }
  | { step: "incoming" }
  | { step: "accepting" }
  | { step: "starting" }
  | { step: "compare"; emojis: [string, string][] }
  | { step: "waitingForOther" }
  | { step: "done" }
  | { step: "cancelled"; reason: CancelReason };

/** Map the spec's cancellation codes to what we tell the user. */
export function cancelReason(code: string | null, byMe: boolean): CancelReason {
  switch (code) {
    case "m.mismatched_sas":
    case "m.key_mismatch":
    case "m.mismatched_commitment":
      return "mismatch";
    case "m.timeout":
      return "timeout";
    case "m.user":
      return byMe ? "byMe" : "declined";
    case null:
      return byMe ? "byMe" : "unknown";
    default:
      return byMe ? "byMe" : "byOther";
  }
}

export function verificationStep(s: VerificationSnapshot): VerificationStep {
  switch (s.phase) {
    case Phase.Cancelled:
      return { step: "cancelled", reason: cancelReason(s.cancellationCode, s.cancelledByMe) };
    case Phase.Done:
      return { step: "done" };
    case Phase.Unsent:
    case Phase.Requested:
      if (s.initiatedByMe) return { step: "waitingForAccept" };
      return s.accepting ? { step: "accepting" } : { step: "incoming" };
    case Phase.Ready:
      return { step: "starting" };
    case Phase.Started:
      if (s.confirmed) return { step: "waitingForOther" };
      return s.emojis && s.emojis.length > 0 ? { step: "compare", emojis: s.emojis } : { step: "starting" };
    default:
      return { step: "starting" };
  }
}

/** Whether this side should send m.key.verification.start once both sides are ready. */
export function shouldStartSas(s: VerificationSnapshot, alreadyStarted: boolean): boolean {
  return s.phase === Phase.Ready && s.initiatedByMe && !alreadyStarted;
}

/** Whether the flow is over (the dialog can close; no more SDK calls). */
export function isFinished(step: VerificationStep): boolean {
  return step.step === "done" || step.step === "cancelled";
}

/** i18n key for an SAS emoji's name ("Thumbs Up" -> verification.emoji.thumbs_up). */
export function emojiNameKey(englishName: string): string {
  return `verification.emoji.${englishName.toLowerCase().replace(/[^a-z]+/g, "_").replace(/^_|_$/g, "")}`;
}

/** The 64 SAS emoji names of the spec, to check the catalogues translate each one. */
export const SAS_EMOJI_NAMES: readonly string[] = [
  "Dog", "Cat", "Lion", "Horse", "Unicorn", "Pig", "Elephant", "Rabbit", "Panda", "Rooster", "Penguin",
  "Turtle", "Fish", "Octopus", "Butterfly", "Flower", "Tree", "Cactus", "Mushroom", "Globe", "Moon",
  "Cloud", "Fire", "Banana", "Apple", "Strawberry", "Corn", "Pizza", "Cake", "Heart", "Smiley", "Robot",
  "Hat", "Glasses", "Spanner", "Santa", "Thumbs Up", "Umbrella", "Hourglass", "Clock", "Gift",
  "Light Bulb", "Book", "Pencil", "Paperclip", "Scissors", "Lock", "Key", "Hammer", "Telephone", "Flag",
  "Train", "Bicycle", "Aeroplane", "Rocket", "Trophy", "Ball", "Guitar", "Trumpet", "Bell", "Anchor",
  "Headphones", "Folder", "Pin",
];
