// Steps of the state's-rules scenarios (tests/e2e/web/test_policy.py): the
// password rules at registration, a room-settings invitation and the message
// of its refusal, the expired-account screen. Elements are found by role and
// French accessible name from the catalogue (i18n.mjs).
import { tr } from "./i18n.mjs";

export function policySteps(user) {
  return {
    /** From the login screen to the registration form; the password rules shown before any typing. */
    async openRegistration({ name }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("signin.createAccount") }).click();
      const rules = page.locator("#register-password-rules li");
      await rules.first().waitFor({ timeout: 20_000 });
      return { rules: await rules.allInnerTexts(), met: await page.locator("#register-password-rules li.rule-ok").count() };
    },

    /** Type a password in the registration form; which rules are ticked. */
    async typeRegisterPassword({ name, password }) {
      const { page } = user(name);
      await page.locator("#register-password").fill(password);
      return {
        met: await page.locator("#register-password-rules li.rule-ok").allInnerTexts(),
        pending: await page.locator("#register-password-rules li.rule-pending").allInnerTexts(),
      };
    },

    /** Open the open room's settings dialog; the access rule it shows. */
    async openRoomSettings({ name }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("roomSettings.open") }).first().click();
      const access = page.getByRole("dialog").getByRole("region", { name: tr("policy.access.title") });
      await access.waitFor();
      return { accessRule: (await access.locator(".access-rule-name").innerText()).trim() };
    },

    /** In room settings, invite a user typed as a full ID; the refusal shown under the field. */
    async inviteFromSettings({ name, userId, timeout = 30_000 }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("searchbox", { name: tr("roomSettings.invite") }).fill(userId);
      await dialog.getByRole("button").filter({ hasText: userId }).first().click();
      const alert = dialog.getByRole("alert").last();
      await alert.waitFor({ timeout });
      await alert.scrollIntoViewIfNeeded();
      return { status: (await alert.innerText()).trim() };
    },

    /** Settings → Password: the rules shown before typing, then the change made; its status line. */
    async changePassword({ name, current, next, timeout = 30_000 }) {
      const { page } = user(name);
      await page.locator("button.profile-button").click();
      const section = page.getByRole("region", { name: tr("policy.passwordChange.title") });
      await section.waitFor();
      const rules = section.locator("#password-change-rules li");
      await rules.first().waitFor({ timeout });
      const before = { rules: await rules.count(), met: await section.locator("li.rule-ok").count() };
      await section.locator("#password-current").fill(current);
      await section.locator("#password-new").fill(next);
      await section.locator("#password-confirm").fill(next);
      const after = { met: await section.locator("li.rule-ok").count() };
      await section.getByRole("button", { name: tr("policy.passwordChange.submit") }).click();
      const status = section.locator("p[role=status], p[role=alert]");
      await status.waitFor({ timeout });
      await status.scrollIntoViewIfNeeded();
      return { before, after, status: (await status.innerText()).trim() };
    },

    /** In room settings, invite an email address; the refusal or confirmation under the field, and the pending list. */
    async inviteEmailFromSettings({ name, address, timeout = 30_000 }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("textbox", { name: tr("policy.emailInvite.label") }).fill(address);
      const form = dialog.locator("form").filter({ has: page.locator("#room-email-invite") });
      await form.getByRole("button", { name: tr("policy.emailInvite.send", { address }) }).click();
      const status = form.locator("p[role=status], p[role=alert]");
      await status.waitFor({ timeout });
      await status.scrollIntoViewIfNeeded();
      return { status: (await status.innerText()).trim() };
    },

    /** The pending email invitations listed in room settings, once there are `count`. */
    async pendingEmailInvites({ name, count = 1, timeout = 30_000 }) {
      const { page } = user(name);
      const list = page.getByRole("dialog").getByRole("list", { name: tr("policy.emailInvite.pendingTitle") });
      await list.locator("li").nth(count - 1).waitFor({ timeout });
      return { invites: await list.locator("li").allInnerTexts() };
    },

    /** Room settings: open the room to external partners, accepting the confirmation; the rule shown after. */
    async openToExternals({ name, timeout = 30_000 }) {
      const { page } = user(name);
      page.once("dialog", (d) => void d.accept());
      const access = page.getByRole("dialog").getByRole("region", { name: tr("policy.access.title") });
      await access.getByRole("button", { name: tr("policy.access.open") }).click();
      await access.locator(".access-rule[data-rule=unrestricted]").waitFor({ timeout });
      return { accessRule: (await access.locator(".access-rule-name").innerText()).trim() };
    },

    /** The newest tile containing `text`, once its sender shows the external badge: sender, badge, accessible name. */
    async externalSender({ name, text, timeout = 45_000 }) {
      const { page } = user(name);
      const tile = page.getByRole("log").last().getByRole("article").filter({ hasText: text }).last();
      const badge = tile.locator(".event-header").getByText(tr("policy.external.badge"), { exact: true });
      await badge.waitFor({ timeout });
      return {
        sender: (await tile.locator(".event-sender").innerText()).trim(),
        badge: (await badge.innerText()).trim(),
        label: await tile.getAttribute("aria-label"),
      };
    },

    /** In the open room settings, the members once one shows the external badge: name and badge of each. */
    async memberBadges({ name, timeout = 30_000 }) {
      const { page } = user(name);
      const members = page.getByRole("dialog").locator(".member-list li");
      await members.locator(".external-badge").first().waitFor({ timeout });
      await members.last().scrollIntoViewIfNeeded();
      return {
        members: await members.evaluateAll((items) =>
          items.map((li) => ({
            name: li.querySelector(".result-name")?.firstChild?.textContent?.trim() ?? "",
            badge: li.querySelector(".external-badge")?.textContent?.trim() ?? null,
          })),
        ),
      };
    },

    /**
     * "New conversation", search `query`: the results once `userId` is among
     * them (with `badged`, once it shows the external badge): text and badge of each.
     */
    async searchPeople({ name, query, userId, badged = false, timeout = 30_000 }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("newChat.newDmLabel") }).first().click();
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("searchbox").fill(query);
      const results = dialog.getByRole("list", { name: tr("newChat.results") }).getByRole("button");
      const found = results.filter({ hasText: userId }).first();
      await (badged ? found.locator(".external-badge") : found).waitFor({ timeout });
      return {
        results: await results.evaluateAll((buttons) =>
          buttons.map((b) => ({
            text: b.querySelector(".hint")?.textContent ?? "",
            badge: b.querySelector(".external-badge")?.textContent?.trim() ?? null,
          })),
        ),
      };
    },

    /** Pick `userId` among the results shown by searchPeople; the DM opens. */
    async pickPerson({ name, userId }) {
      const { page } = user(name);
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("button").filter({ hasText: userId }).first().click();
      await dialog.waitFor({ state: "detached" });
      await page.getByRole("textbox", { name: tr("composer.placeholder") }).last().waitFor();
    },

    /** The open room's header once it shows the external badge: its title and the badge. */
    async headerBadge({ name, timeout = 30_000 }) {
      const { page } = user(name);
      const title = page.getByRole("main").locator(".room-header h1").first();
      const badge = title.getByText(tr("policy.external.badge"), { exact: true });
      await badge.waitFor({ timeout });
      return { title: (await title.locator(".room-title-text").innerText()).trim(), badge: (await badge.innerText()).trim() };
    },

    /** The room list's rows once one shows the external badge: the names of those that do. */
    async roomListBadges({ name, timeout = 30_000 }) {
      const { page } = user(name);
      const rows = page.getByRole("navigation", { name: tr("roomList.label") }).getByRole("link");
      const badged = rows.filter({ has: page.locator(".external-badge") });
      await badged.first().waitFor({ timeout });
      return { rooms: await badged.locator(".room-row-name").allInnerTexts() };
    },

    /** Press the download button of a file's tile; the alert shown instead of a download. */
    async downloadRefused({ name, file, timeout = 45_000 }) {
      const { page } = user(name);
      const log = page.getByRole("log").last();
      const button = log.getByRole("button", { name: tr("files.download", { name: file }) }).last();
      await button.waitFor({ timeout });
      await button.click();
      const alert = log.getByRole("alert").last();
      await alert.waitFor({ timeout });
      return { text: (await alert.innerText()).trim() };
    },

    /** Log in with an account that has expired: the expired screen comes instead of the app. */
    async loginExpired({ name, identifier, password, timeout = 45_000 }) {
      const { page } = user(name);
      if (!page.url().startsWith("http")) await page.goto("/");
      await page.locator("input[autocomplete=username]").first().fill(identifier);
      await page.locator("input[type=password]").first().fill(password);
      await page.locator("form button[type=submit]").first().click();
      await page.getByRole("heading", { name: tr("policy.expired.title") }).waitFor({ timeout });
      return { text: await page.locator("main").innerText() };
    },

    /** The expired-account screen is showing; its text. */
    async expiredScreen({ name, timeout = 45_000 }) {
      const { page } = user(name);
      await page.getByRole("heading", { name: tr("policy.expired.title") }).waitFor({ timeout });
      return { text: await page.locator("main").innerText() };
    },

    /** Ask for the renewal email from the expired screen; the status line once it answers. */
    async sendRenewalMail({ name, timeout = 30_000 }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("policy.expired.send") }).click();
      const status = page.locator(".expired-card p[role=status]");
      await status.filter({ hasText: /\S/ }).waitFor({ timeout });
      return { status: (await status.innerText()).trim() };
    },

    /** Sign out from the expired screen; the login screen comes back. */
    async logoutExpired({ name }) {
      const { page } = user(name);
      await page.getByRole("button", { name: tr("policy.expired.logout") }).click();
      await page.locator("input[type=password]").first().waitFor({ timeout: 30_000 });
      return { loggedOut: true };
    },
  };
}
