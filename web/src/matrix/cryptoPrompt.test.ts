import { describe, expect, it } from "vitest";
import { PasswordPrompter } from "./cryptoPrompt";

describe("password prompt", () => {
  it("publishes the request and resolves with the answer", async () => {
    const prompter = new PasswordPrompter();
    const asked = prompter.ask("signOut", false);
    expect(prompter.request.get()).toEqual({ reason: "signOut", wrong: false });
    prompter.answer("secret");
    await expect(asked).resolves.toBe("secret");
    expect(prompter.request.get()).toBeNull();
  });

  it("resolves null on cancel, and cancels an older request replaced by a new one", async () => {
    const prompter = new PasswordPrompter();
    const first = prompter.ask("crossSigning", false);
    const second = prompter.ask("crossSigning", true);
    await expect(first).resolves.toBeNull();
    prompter.answer(null);
    await expect(second).resolves.toBeNull();
  });
});
