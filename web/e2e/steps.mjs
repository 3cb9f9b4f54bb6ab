// Scenario steps on the real client, named after what a person does. They
// find elements by role and accessible name, the names coming from the
// client's French catalogue by key (i18n.mjs; the keys are listed in
// docs/web-client.md, "Test hooks"), or by what any login form has
// (autocomplete=username, type=password).
//
// steps(user) returns commands; `user(name)` gives { page, context }.
import { has, tr } from "./i18n.mjs";

/** The signed-in app is there: its room list (a navigation landmark). */
async function signedIn(page, timeout = 45_000) {
  await page.getByRole("navigation").first().waitFor({ timeout });
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const composer = (page) => page.getByRole("textbox", { name: tr("composer.placeholder") }).last();
const timeline = (page) => page.getByRole("log").last();
/** The newest message tile whose text contains `text`. */
const tile = (page, text) => timeline(page).getByRole("article").filter({ hasText: text }).last();

/** The open room id, from the client's hash route (#/room/ID). */
async function openRoomId(page) {
  const hash = await page.evaluate(() => location.hash);
  const match = /^#\/room\/([^/]+)/.exec(hash);
  return match ? decodeURIComponent(match[1]) : null;
}

/** Point at the tile so that its action toolbar shows, then press one of its buttons. */
async function tileAction(page, text, key) {
  const target = tile(page, text);
  await target.hover();
  await target.getByRole("button", { name: tr(key) }).click();
}

export function steps(user) {
  const api = {
    /**
     * Log in from the login screen with a user ID (or email) and password.
     * With `firstLogin` (the default) and a client that sets up encryption,
     * what follows the login is answered: the password prompt, then the
     * recovery key shown once (saved and returned), or, when the account
     * already has one, the "verify this session" dialog (put off with "later"
     * unless `onVerify` is "leave").
     */
    async login({ name, identifier, password, firstLogin = true, onVerify = "later", timeout = 60_000 }) {
      const { page } = user(name);
      if (!page.url().startsWith("http")) await page.goto("/");
      await page.locator("input[autocomplete=username]").first().fill(identifier);
      await page.locator("input[type=password]").first().fill(password);
      await page.locator("form button[type=submit]").first().click();
      await signedIn(page);
      if (!firstLogin || !has("crypto.recoveryKey.title")) return { recoveryKey: null, verifyAsked: false };
      const keyDialog = page.getByRole("dialog", { name: tr("crypto.recoveryKey.title") });
      const passwordDialog = page.getByRole("dialog", { name: tr("crypto.password.title") });
      const verifyDialog = page.getByRole("dialog", { name: tr("crypto.verify.title") });
      let deadline = Date.now() + timeout;
      let verifyAsked = false;
      for (;;) {
        if (await keyDialog.isVisible()) {
          const { key } = await api.recoveryKey({ name, password });
          await api.recoveryKeySaved({ name });
          return { recoveryKey: key, verifyAsked };
        }
        if (await passwordDialog.isVisible()) {
          await passwordDialog.getByLabel(tr("crypto.password.label")).fill(password);
          await passwordDialog.getByRole("button", { name: tr("crypto.password.confirm") }).click();
          await passwordDialog.waitFor({ state: "detached", timeout });
          continue;
        }
        if (!verifyAsked && (await verifyDialog.isVisible())) {
          if (onVerify !== "later") return { recoveryKey: null, verifyAsked: true };
          const later = verifyDialog.getByRole("button", { name: tr("crypto.verify.later") });
          if (await later.click({ timeout: 3_000 }).then(() => true, () => false)) {
            // A new account may pass through this dialog while the client is
            // still setting up: watch a little longer for its recovery key.
            verifyAsked = true;
            deadline = Math.min(deadline, Date.now() + 8_000);
          }
          continue;
        }
        if (Date.now() > deadline) {
          if (verifyAsked) return { recoveryKey: null, verifyAsked };
          throw new Error("after logging in, neither the recovery key nor 'verify this session' showed");
        }
        await page.waitForTimeout(200);
      }
    },

    /** Reload the page: the session must resume from IndexedDB, without the login form. */
    async reload({ name }) {
      const { page } = user(name);
      await page.reload();
      await signedIn(page);
      return { loginFormShown: await page.locator("input[type=password]").isVisible() };
    },

    /** The login screen is showing. */
    async loginScreen({ name }) {
      const { page } = user(name);
      await page.locator("input[type=password]").first().waitFor();
      return { lang: await page.evaluate(() => document.documentElement.lang) };
    },

    /** New conversation: search the directory for `query`, pick `userId`; the DM opens. */
    async startDm({ name, query, userId }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("newChat.newDmLabel") }).first().click();
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("searchbox").fill(query);
      await dialog.getByRole("button").filter({ hasText: userId }).first().click();
      await dialog.waitFor({ state: "detached" });
      await composer(page).waitFor();
      return { roomId: await openRoomId(page) };
    },

    /**
     * Open the room whose row in the list starts with `text` (its name; `room`
     * is the same, for the call steps); resolves once the main pane is named
     * after it. An invite opens its invitation view.
     */
    async openRoom({ name, text, room }) {
      const label = text ?? room;
      const { page } = user(name);
      const list = page.getByRole("navigation", { name: tr("roomList.label") });
      const row = list.getByRole("link", { name: new RegExp(`^${escapeRegExp(label)}`) }).first();
      await row.click({ timeout: 45_000 });
      await page.getByRole("main", { name: label }).waitFor();
      return { roomId: await openRoomId(page) };
    },

    /** Open the invite whose row shows `text` and accept it; the room opens. */
    async acceptInvite({ name, text }) {
      const { page } = user(name);
      await page.getByRole("navigation").getByText(text).first().click({ timeout: 45_000 });
      await page.getByRole("button", { name: tr("invite.accept") }).click();
      await composer(page).waitFor({ timeout: 30_000 });
      return { roomId: await openRoomId(page) };
    },

    /** Accept the invite on screen; the room opens. */
    async accept({ name }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("invite.accept") }).click();
      await composer(page).waitFor({ timeout: 30_000 });
      return { roomId: await openRoomId(page) };
    },

    /** Type a message in the composer and send it with Enter. */
    async send({ name, text }) {
      const { page } = user(name);
      await composer(page).fill(text);
      await composer(page).press("Enter");
    },

    /** Type without sending (the other side sees the typing indicator). */
    async type({ name, text }) {
      const { page } = user(name);
      await composer(page).pressSequentially(text, { delay: 20 });
    },

    /** Wait until a message containing `text` is in the open room's timeline, decrypted. */
    async waitForMessage({ name, text, timeout = 45_000 }) {
      const { page } = user(name);
      await tile(page, text).waitFor({ timeout });
      return tileInfoOf(page, text);
    },

    /** What a message tile shows: its text, "(edited)", reactions, the message it replies to. */
    async tileInfo({ name, text }) {
      return tileInfoOf(user(name).page, text);
    },

    /** Reply to the message containing `to`. */
    async reply({ name, to, text }) {
      const { page } = user(name);
      await tileAction(page, to, "timeline.reply");
      await composer(page).fill(text);
      await composer(page).press("Enter");
    },

    /** Edit my message containing `text` into `newText`. */
    async edit({ name, text, newText }) {
      const { page } = user(name);
      await tileAction(page, text, "timeline.edit");
      const box = page.getByRole("textbox", { name: tr("composer.editLabel") });
      await box.fill(newText);
      await box.press("Enter");
    },

    /** React to the message containing `text` with `key` from the quick picker. */
    async react({ name, text, key }) {
      const { page } = user(name);
      await tileAction(page, text, "timeline.react");
      await page.getByRole("button", { name: tr("timeline.reactWith", { key }) }).click();
    },

    /** Wait for the typing indicator to name `who`. */
    async waitForTyping({ name, who }) {
      const { page } = user(name);
      await page.getByText(tr("typing.one", { name: who })).first().waitFor({ timeout: 30_000 });
    },

    /** Wait until `who` is shown as having read the message containing `text`. */
    async waitForReadBy({ name, text, who, timeout = 30_000 }) {
      const { page } = user(name);
      const readBy = tr("timeline.readBy", {}, { exact: false });
      const deadline = Date.now() + timeout;
      for (;;) {
        const labels = await tile(page, text)
          .locator("[aria-label]")
          .evaluateAll((els) => els.map((e) => e.getAttribute("aria-label")));
        if (labels.some((l) => readBy.test(l) && l.includes(who))) return labels;
        if (Date.now() > deadline) throw new Error(`no read receipt of ${who} on "${text}": ${labels}`);
        await page.waitForTimeout(250);
      }
    },

    /** The accessible name of the room's row in the list (it tells unread counts). */
    async roomRow({ name, text }) {
      const { page } = user(name);
      const row = page
        .getByRole("navigation")
        .getByRole("link", { name: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`) })
        .first();
      await row.waitFor();
      return { label: await row.evaluate((el) => el.getAttribute("aria-label") ?? el.textContent) };
    },

    /** Wait until the room's row says `count` unread messages. */
    async waitForUnread({ name, text, count, timeout = 30_000 }) {
      const unread = tr("roomList.a11yUnread", { count }, { exact: false });
      const deadline = Date.now() + timeout;
      for (;;) {
        const { label } = await api.roomRow({ name, text });
        if (unread.test(label)) return { label };
        if (Date.now() > deadline) throw new Error(`"${text}" never showed ${unread}: ${label}`);
        await user(name).page.waitForTimeout(250);
      }
    },

    // --- encryption (docs/web-client.md, "Test hooks") -------------------

    /** First login: answer the password prompt if asked, then read the recovery key shown once. */
    async recoveryKey({ name, password, timeout = 60_000 }) {
      const { page } = user(name);
      const keyDialog = page.getByRole("dialog", { name: tr("crypto.recoveryKey.title") });
      const passwordDialog = page.getByRole("dialog", { name: tr("crypto.password.title") });
      await keyDialog.or(passwordDialog).first().waitFor({ timeout });
      if (password && (await passwordDialog.isVisible())) {
        await passwordDialog.getByLabel(tr("crypto.password.label")).fill(password);
        await passwordDialog.getByRole("button", { name: tr("crypto.password.confirm") }).click();
      }
      await keyDialog.waitFor({ timeout });
      return { key: (await keyDialog.locator("[data-recovery-key] code").innerText()).trim() };
    },

    /**
     * Download the recovery key (the dialog lets the user go on only once it is
     * copied or downloaded), tick "I have saved it" and close the dialog.
     * Returns the downloaded file's name and text.
     */
    async recoveryKeySaved({ name }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog", { name: tr("crypto.recoveryKey.title") });
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        dialog.getByRole("button", { name: tr("crypto.recoveryKey.download") }).click(),
      ]);
      const stream = await download.createReadStream();
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      await dialog.getByLabel(tr("crypto.recoveryKey.savedCheck")).check();
      await dialog.getByRole("button", { name: tr("crypto.recoveryKey.done") }).click();
      await dialog.waitFor({ state: "detached" });
      return { file: download.suggestedFilename(), text: Buffer.concat(chunks).toString("utf8") };
    },

    /** A new session is asked to verify itself: it does so with the recovery key. */
    async verifyWithRecoveryKey({ name, key, timeout = 60_000 }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog", { name: tr("crypto.verify.title") });
      await dialog.waitFor({ timeout });
      await dialog.getByRole("button", { name: tr("crypto.verify.useKey") }).click();
      await dialog.getByLabel(tr("crypto.verify.keyLabel")).fill(key);
      await dialog.getByRole("button", { name: tr("crypto.verify.submitKey") }).click();
      await dialog.waitFor({ state: "detached", timeout });
    },

    /** A new session asks another of the user's sessions for an emoji verification. */
    async verifyWithOtherSession({ name, timeout = 60_000 }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog", { name: tr("crypto.verify.title") });
      await dialog.waitFor({ timeout });
      await dialog.getByRole("button", { name: tr("crypto.verify.useOtherSession") }).click();
      await page.getByRole("dialog", { name: tr("verification.titleSelf") }).waitFor({ timeout });
    },

    /** "They match" in a verification between two of the user's sessions; wait for done and close. */
    async confirmOwnEmojis({ name, timeout = 45_000 }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog", { name: tr("verification.titleSelf") });
      await dialog.getByRole("button", { name: tr("verification.match") }).click();
      await dialog.getByText(tr("verification.doneSelf")).waitFor({ timeout });
      await dialog.getByRole("button", { name: tr("verification.finish") }).click();
    },

    /** The "verify this session" dialog is showing (before it is answered). */
    async verifySessionAsked({ name, timeout = 60_000 }) {
      const { page } = user(name);
      await page.getByRole("dialog", { name: tr("crypto.verify.title") }).waitFor({ timeout });
    },

    /** Ask `other` (a display name) for an emoji verification, from the open DM. */
    async startUserVerification({ name, other }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("verification.verifyUser", { name: other }) }).click();
    },

    /** Accept an incoming verification request. */
    async acceptVerification({ name, timeout = 45_000 }) {
      const { page } = user(name);
      const accept = page.getByRole("dialog").getByRole("button", { name: tr("verification.accept") });
      await accept.waitFor({ timeout });
      await accept.click();
    },

    /** The emojis to compare, as shown (symbol and French name). */
    async sasEmojis({ name, timeout = 45_000 }) {
      const { page } = user(name);
      const list = page.getByRole("list", { name: tr("verification.emojiList") });
      await list.waitFor({ timeout });
      return list.getByRole("listitem").evaluateAll((items) => items.map((i) => i.innerText.trim()));
    },

    /** "They match", then wait for the verification to be done and close it. */
    async confirmEmojis({ name, other, timeout = 45_000 }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("button", { name: tr("verification.match") }).click();
      await dialog.getByText(tr("verification.doneUser", { name: other })).waitFor({ timeout });
      await dialog.getByRole("button", { name: tr("verification.finish") }).click();
    },

    // --- files ------------------------------------------------------------

    /** Attach files to the open room (the composer's file input), as the picker would. */
    async attach({ name, files }) {
      const { page } = user(name);
      await page.getByLabel(tr("files.chooseFiles")).setInputFiles(files);
    },

    /** Drop files on the open room, as a drag from the desktop would: [{ name, text, type }]. */
    async dropFiles({ name, files }) {
      const { page } = user(name);
      const room = page.getByRole("main").locator("section").first();
      const dataTransfer = await page.evaluateHandle((list) => {
        const dt = new DataTransfer();
        for (const f of list) dt.items.add(new File([f.text], f.name, { type: f.type ?? "text/plain" }));
        return dt;
      }, files);
      for (const type of ["dragenter", "dragover", "drop"]) await room.dispatchEvent(type, { dataTransfer });
    },

    /** Paste files into the composer, as from the clipboard: [{ name, text, type }]. */
    async pasteFiles({ name, files }) {
      const { page } = user(name);
      await composer(page).evaluate((box, list) => {
        const dt = new DataTransfer();
        for (const f of list) dt.items.add(new File([f.text], f.name, { type: f.type ?? "text/plain" }));
        box.dispatchEvent(new ClipboardEvent("paste", { bubbles: true, cancelable: true, clipboardData: dt }));
      }, files);
    },

    /** Download a file from its tile in the timeline: the name the browser saves it under and its text. */
    async download({ name, file, timeout = 45_000 }) {
      const { page } = user(name);
      const button = timeline(page).getByRole("button", { name: tr("files.download", { name: file }) }).last();
      await button.waitFor({ timeout });
      const [download] = await Promise.all([page.waitForEvent("download", { timeout }), button.click()]);
      const { readFile } = await import("node:fs/promises");
      return { filename: download.suggestedFilename(), text: await readFile(await download.path(), "utf8") };
    },

    /** Wait for an image with this alt text in the timeline, decoded: its size once loaded. */
    async waitForImage({ name, alt, timeout = 45_000 }) {
      const { page } = user(name);
      const image = timeline(page).getByRole("img", { name: alt }).last();
      await image.waitFor({ timeout });
      await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await image.elementHandle(), {
        timeout,
      });
      return image.evaluate((el) => ({ src: el.src.slice(0, 5), width: el.naturalWidth }));
    },

    /** The text of the first alert on the page, once one shows. */
    async alert({ name, timeout = 45_000 }) {
      const { page } = user(name);
      const alert = page.getByRole("alert").first();
      await alert.waitFor({ timeout });
      return alert.innerText();
    },

    /** The French string of a catalogue key, as a regular expression source (for assertions). */
    async catalogue({ key, vars = {} }) {
      return tr(key, vars).source;
    },
  };
  return api;
}

async function tileInfoOf(page, text) {
  const target = tile(page, text);
  return {
    text: await target.innerText(),
    edited: (await target.getByText(tr("timeline.edited")).count()) > 0,
    reactions: await target
      .getByRole("group", { name: tr("timeline.reactions") })
      .getByRole("button")
      .evaluateAll((buttons) => buttons.map((b) => b.getAttribute("aria-label") ?? b.textContent)),
  };
}
