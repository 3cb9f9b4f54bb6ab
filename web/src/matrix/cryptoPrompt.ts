/**
 * A password asked from the UI on behalf of the matrix layer (user-interactive
 * auth for cross-signing reset or signing a session out): the controller
 * awaits `ask`, the dialog shows `request` and calls `answer`.
 */
import { Store } from "./store";

export interface PasswordRequest {
  reason: "crossSigning" | "signOut";
  wrong: boolean;
}

export class PasswordPrompter {
  readonly request = new Store<PasswordRequest | null>(null);
  private resolve: ((password: string | null) => void) | null = null;

  ask = (reason: PasswordRequest["reason"], wrong: boolean): Promise<string | null> => {
    this.resolve?.(null);
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.request.set({ reason, wrong });
    });
  };

  /** The password typed, or null when the user cancelled. */
  answer(password: string | null): void {
    const resolve = this.resolve;
    this.resolve = null;
    this.request.set(null);
    resolve?.(password);
  }
}
