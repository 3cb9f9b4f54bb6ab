// Scenario steps on the real client, named after what a person does. They
// find elements by role and accessible name (the French ones, since the tests
// run in French; docs/web-client.md, "Test hooks"), or by what any login form
// has (autocomplete=username, type=password).
//
// steps(user, state) returns commands; `user(name)` gives { page, context }.

/** The signed-in app is there: its room list (a navigation landmark). */
async function signedIn(page, timeout = 45_000) {
  await page.getByRole("navigation").first().waitFor({ timeout });
}

export function steps(user) {
  return {
    /** Log in from the login screen with a user ID (or email) and password. */
    async login({ name, identifier, password }) {
      const { page } = user(name);
      if (!page.url().startsWith("http")) await page.goto("/");
      await page.locator("input[autocomplete=username]").first().fill(identifier);
      await page.locator("input[type=password]").first().fill(password);
      await page.locator("form button[type=submit]").first().click();
      await signedIn(page);
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
  };
}
