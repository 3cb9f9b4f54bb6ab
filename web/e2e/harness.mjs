// The browser side of the web client's end-to-end tests: Debian's Chromium
// driven by playwright-core (no browser download), one context per user,
// screenshots at phone and desktop widths, and an axe-core check.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

/** Debian's browser; CHROMIUM overrides it. */
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** The widths every main screen is captured at: a phone and a desktop. */
export const WIDTHS = [360, 1280];

/** Flags for a shared 2-core machine: no GPU, no background work, no throttling of
 * the hidden tabs (two users' pages run side by side and must both stay live). */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-extensions",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-sync",
  "--no-first-run",
  "--mute-audio",
  "--disable-background-timer-throttling",
  "--disable-backgrounding-occluded-windows",
  "--disable-renderer-backgrounding",
  "--renderer-process-limit=4",
];

/** Serious or critical axe findings fail a test; the others are only recorded. */
export const BLOCKING_IMPACTS = new Set(["serious", "critical"]);

/** `extraArgs`: flags a test module needs on top (e.g. fake camera and microphone for calls). */
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, ...extraArgs] });
}

/**
 * A user: their own browser context (storage, IndexedDB, cookies) and one page,
 * in French, at desktop width. Page errors, console errors and CSP violations
 * are recorded so a test can assert that the client ran cleanly.
 */
export async function newUser(browser, { name, baseUrl, locale = "fr-FR", width = 1280 }) {
  const context = await browser.newContext({
    baseURL: baseUrl,
    locale,
    extraHTTPHeaders: { "Accept-Language": `${locale},${locale.split("-")[0]};q=0.9` },
    viewport: { width, height: 800 },
    timezoneId: "Europe/Paris",
    colorScheme: "light",
    reducedMotion: "reduce",
    acceptDownloads: true,
  });
  context.setDefaultTimeout(20_000);
  const problems = [];
  // Injected through the DevTools protocol, so the page's own CSP does not block it.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const page = await context.newPage();
  watch(page, problems);
  return { name, context, page, problems };
}

function watch(page, problems) {
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // Chromium logs every 4xx answer as "Failed to load resource"; 401 and 404
    // are ordinary Matrix answers (UIA, absent account data), not client errors.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${message.text()}`);
    }
  });
}

/** Everything that went wrong in the user's page: errors and CSP violations. */
export async function problemsOf(user) {
  let csp = [];
  try {
    csp = await user.page.evaluate(() => window.__cspViolations ?? []);
  } catch {
    // the page is navigating; its console errors are enough
  }
  return [...user.problems, ...csp.map((v) => `CSP violation: ${v}`)];
}

/** `name` made safe as a file name. */
function slug(name) {
  return name.replace(/[^\p{L}\p{N}._-]+/gu, "-").replace(/^-+|-+$/g, "");
}

/**
 * Screenshots of the user's current screen at each width, under `outputDir`
 * (`NAME-360.png`, `NAME-1280.png`), each followed by an axe check. The
 * viewport comes back to its width afterwards. Throws on a blocking finding.
 */
export async function captureScreen(user, screenName, outputDir) {
  await mkdir(outputDir, { recursive: true });
  const original = user.page.viewportSize();
  const files = [];
  const findings = [];
  try {
    for (const width of WIDTHS) {
      await user.page.setViewportSize({ width, height: width < 600 ? 740 : 800 });
      await settle(user.page);
      const file = path.join(outputDir, `${slug(screenName)}-${width}.png`);
      await user.page.screenshot({ path: file, fullPage: false, animations: "disabled" });
      files.push(file);
      const result = await axeCheck(user.page, `${screenName} at ${width} px`, outputDir);
      findings.push(...result.blocking);
    }
  } finally {
    if (original) await user.page.setViewportSize(original);
  }
  // SCEAU_E2E_AXE_REPORT_ONLY=1 lets a developer walk a scenario past known
  // findings (still written to the reports); never under CI=true.
  const reportOnly = process.env.SCEAU_E2E_AXE_REPORT_ONLY === "1" && process.env.CI !== "true";
  if (findings.length && !reportOnly) {
    throw new Error(`axe: serious or critical violations on "${screenName}":\n${findings.join("\n")}`);
  }
  return { files };
}

/** Two animation frames and idle network: the layout after a resize has settled. */
async function settle(page) {
  await page.evaluate(
    () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
  );
}

let axeSource = null;

/**
 * Run axe-core in the page (WCAG 2.x A and AA rules). Returns the blocking
 * findings (serious or critical) and writes every finding to a JSON report.
 */
export async function axeCheck(page, label, outputDir) {
  axeSource ??= await readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  // evaluate() goes through the DevTools protocol: the page's CSP allows it.
  await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      resultTypes: ["violations"],
    }),
  );
  const violations = results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
  if (outputDir) {
    await mkdir(outputDir, { recursive: true });
    await writeFile(
      path.join(outputDir, `${slug(label)}.axe.json`),
      JSON.stringify(violations, null, 2),
    );
  }
  const blocking = violations
    .filter((v) => BLOCKING_IMPACTS.has(v.impact))
    .map((v) => `  ${label}: [${v.impact}] ${v.id}: ${v.help} (${v.targets.join(", ")})`);
  return { violations, blocking };
}
