// What pytest can ask of the browser: generic commands here, the client's
// scenario steps in steps.mjs (they act through accessible names, see
// docs/web-client.md, "Test hooks").
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { axeCheck, captureScreen, launchBrowser, newUser, problemsOf } from "./harness.mjs";
import { callSteps } from "./callSteps.mjs";
import { policySteps } from "./policySteps.mjs";
import { steps } from "./steps.mjs";

const state = { browser: null, users: new Map(), outputDir: "test-output/web", baseUrl: null };

function user(name) {
  const found = state.users.get(name);
  if (!found) throw new Error(`no user "${name}": call newUser first`);
  return found;
}

/** The step sets merged; a name defined twice would silently shadow the other, so it throws. */
function distinct(...sets) {
  const merged = {};
  for (const set of sets) {
    for (const [key, value] of Object.entries(set)) {
      if (key in merged) throw new Error(`step "${key}" is defined twice in web/e2e`);
      merged[key] = value;
    }
  }
  return merged;
}

const generic = {
  /** Launch Chromium (with `browserArgs` added to its flags); screenshots and axe reports go under outputDir. */
  async start({ baseUrl, outputDir, browserArgs = [] }) {
    state.baseUrl = baseUrl;
    if (outputDir) state.outputDir = outputDir;
    await mkdir(state.outputDir, { recursive: true });
    state.browser ??= await launchBrowser(browserArgs);
    return { version: state.browser.version() };
  },

  /** A new browser context (a new device, empty storage) for `name`. */
  async newUser({ name, locale, width }) {
    await state.users.get(name)?.context.close();
    const created = await newUser(state.browser, { name, baseUrl: state.baseUrl, locale, width });
    state.users.set(name, created);
    return { name };
  },

  async closeUser({ name }) {
    await state.users.get(name)?.context.close();
    state.users.delete(name);
  },

  /** Open a path of the server in the user's page; the HTTP answer's status and headers. */
  async goto({ name, path: target = "/" }) {
    const response = await user(name).page.goto(target, { waitUntil: "load" });
    return { status: response?.status() ?? null, headers: (await response?.allHeaders()) ?? {} };
  },

  /** Wait until an element with this role and accessible name is visible. */
  async waitFor({ name, role, label, exact = false, timeout }) {
    await user(name).page.getByRole(role, { name: label, exact }).first().waitFor({ timeout });
  },

  /** Text of the first element matching a CSS selector (or the whole page). */
  async text({ name, selector = "body" }) {
    return user(name).page.locator(selector).first().innerText();
  },

  /** A JavaScript expression evaluated in the page (through DevTools, not subject to CSP). */
  async evaluate({ name, expression }) {
    return user(name).page.evaluate(expression);
  },

  /** Screenshots of the current screen at 360 and 1280 px, each checked by axe. */
  async screen({ name, screen }) {
    const { files } = await captureScreen(user(name), screen, state.outputDir);
    return { files: files.map((f) => path.resolve(f)) };
  },

  /** axe findings of the current screen, without screenshots (blocking ones listed apart). */
  async axe({ name, label }) {
    return axeCheck(user(name).page, label ?? name, state.outputDir);
  },

  /** Page errors, console errors and CSP violations seen so far in the user's page. */
  async problems({ name }) {
    return problemsOf(user(name));
  },

  /** Resources the page loaded: url, type, encoded (wire) size, and content encoding. */
  async resources({ name }) {
    return user(name).page.evaluate(() =>
      performance.getEntriesByType("resource").map((r) => ({
        url: r.name,
        type: r.initiatorType,
        transferSize: r.transferSize,
        encodedBodySize: r.encodedBodySize,
        decodedBodySize: r.decodedBodySize,
      })),
    );
  },

  async writeNote({ file, text }) {
    await writeFile(path.join(state.outputDir, file), text);
  },


  /** After a failed command: what the user's page showed, for the report. */
  async failed({ cmd, args }) {
    const found = args?.name && state.users.get(args.name);
    if (!found) return null;
    const file = path.join(state.outputDir, `FAILED-${cmd}-${args.name}.png`);
    await found.page.screenshot({ path: file, timeout: 5_000 }).catch(() => {});
    return path.resolve(file);
  },

  async quit() {
    for (const u of state.users.values()) await u.context.close().catch(() => {});
    state.users.clear();
    await state.browser?.close().catch(() => {});
    state.browser = null;
  },
};

export const commands = distinct(generic, steps(user, state), callSteps(user), policySteps(user));
