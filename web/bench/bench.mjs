// The web client's bench (not a test): figures of issue #8 in headless Chromium
// against a local Sceau on SQLite, started and seeded by this script.
//
//   node web/bench/bench.mjs [--rooms 100] [--messages 5000] [--switches 10]
//                            [--json FILE] [--write-docs] [--dist FOLDER]
//
// --write-docs replaces the "Web client" figures in docs/performance.md (or
// --docs-file FILE), --from-json FILE writes them from an earlier run's
// --json output without running again. --dist serves another build than web/dist.
// Uses playwright-core (root package.json) and Debian's /usr/bin/chromium.
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { launchBrowser, newUser } from "../e2e/harness.mjs";
import { steps } from "../e2e/steps.mjs";
import { heapAfterScrollBack, jsBeforeLogin, reloadInteractive, roomName, roomSwitch } from "./measure.mjs";
import { seed } from "./seed.mjs";
import { REPO, startSceau } from "./server.mjs";

export const TARGETS = {
  jsBeforeLoginGzipKB: { max: 250, label: "JavaScript before the login screen", unit: "KB gzip" },
  loginVisibleMs: { max: 1000, label: "Login screen visible", unit: "ms" },
  reloadInteractiveMs: { max: 2000, label: "Logged-in reload interactive", unit: "ms" },
  roomSwitchMedianMs: { max: 100, label: "Room switch (median)", unit: "ms" },
  heapAfterScrollBackMB: { max: 150, label: "JS heap after scrolling back", unit: "MB" },
};

const { values: opts } = parseArgs({
  options: {
    rooms: { type: "string", default: "100" },
    messages: { type: "string", default: "5000" },
    switches: { type: "string", default: "10" },
    json: { type: "string" },
    dist: { type: "string" },
    "from-json": { type: "string" },
    "write-docs": { type: "boolean", default: false },
    "docs-file": { type: "string", default: path.join(REPO, "docs", "performance.md") },
  },
});
const rooms = Number(opts.rooms);
const messages = Number(opts.messages);
const switches = Math.min(Number(opts.switches), rooms);

const log = (message) => console.error(`[web bench] ${message}`);

async function main() {
  const sceau = await startSceau(opts.dist ? { dist: path.resolve(opts.dist) } : {});
  const browser = await launchBrowser();
  try {
    log(`seeding ${rooms} rooms and ${messages} messages at ${sceau.url}`);
    const data = await seed(sceau.url, { rooms, messages });
    // A first visit from another context starts the browser's network and
    // renderer processes, so that the cold load below measures the client.
    const warmUp = await newUser(browser, { name: "warm-up", baseUrl: sceau.url });
    await warmUp.page.goto("/_matrix/client/versions");
    await warmUp.context.close();
    const user = await newUser(browser, { name: "bench", baseUrl: sceau.url });
    const cdp = await user.context.newCDPSession(user.page);
    const results = {
      rooms,
      messages,
      chromium: browser.version(),
      date: new Date().toISOString(),
      commit: gitCommit(),
    };
    log("cold load of the login screen");
    Object.assign(results, await jsBeforeLogin(user.page, sceau.url));
    // The test steps' login: it also saves the recovery key a first login shows.
    await steps(() => user).login({ name: "bench", identifier: data.user.userId, password: data.user.password });
    log("logged in; reloading");
    // The newest room heads the list: "Historique", created last.
    await user.page.getByText("Historique", { exact: true }).first().waitFor({ timeout: 60_000 });
    Object.assign(results, await reloadInteractive(user.page, "Historique"));
    const names = Array.from({ length: switches }, (_, i) => roomName(rooms - 1 - i));
    log(`switching between ${names.length} rooms`);
    Object.assign(results, await roomSwitch(user.page, names));
    log(`scrolling back through ${messages} messages`);
    Object.assign(results, await heapAfterScrollBack(user.page, cdp, messages));
    return results;
  } finally {
    await browser.close();
    await sceau.stop();
  }
}

function gitCommit() {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

function markdown(results) {
  const rows = Object.entries(TARGETS).map(([key, t]) => {
    const value = results[key];
    const met = value <= t.max ? "✓" : "✗";
    return `| ${t.label} | ${value.toFixed(key.endsWith("KB") || key.endsWith("MB") ? 1 : 0)} ${t.unit} | ≤ ${t.max} ${t.unit} | ${met} |`;
  });
  return [
    `Run of ${results.date.slice(0, 16).replace("T", " ")} UTC (commit ${results.commit ?? gitCommit()}),` +
      ` Chromium ${results.chromium},`,
    `${results.rooms} rooms, ${results.messages} messages in the history room, SQLite.`,
    "",
    "| figure | measured | target | |",
    "|---|---|---|---|",
    ...rows,
    "",
    `WASM loaded before the login screen: ${results.wasmBeforeLogin ? "yes ✗" : "no ✓"}.`,
  ].join("\n");
}

const START = "<!-- web-bench:start -->";
const END = "<!-- web-bench:end -->";

async function writeDocs(results) {
  const file = path.resolve(opts["docs-file"]);
  const text = await readFile(file, "utf8");
  const block = `${START}\n${markdown(results)}\n${END}`;
  if (!text.includes(START)) throw new Error(`${file} has no ${START} marker`);
  await writeFile(file, text.replace(new RegExp(`${START}[\\s\\S]*?${END}`), block));
  log(`wrote the figures into ${path.relative(process.cwd(), file)}`);
}

// --from-json FILE: no run, only the docs written from an earlier run's JSON.
const results = opts["from-json"] ? JSON.parse(await readFile(opts["from-json"], "utf8")) : await main();
console.log(JSON.stringify(results, null, 2));
console.error(markdown(results));
if (opts.json) await writeFile(opts.json, JSON.stringify(results, null, 2));
if (opts["write-docs"]) await writeDocs(results);
