// The web client's end-to-end driver: one Chromium, any number of users (one
// browser context each), driven over stdio by pytest (tests/e2e/web), one JSON
// object a line.
//
// Request:  {"id": 1, "cmd": "goto", "args": {...}}
// Reply:    {"id": 1, "ok": true, "result": ...}  or  {"id": 1, "ok": false, "error": "..."}
//
// Commands run concurrently and replies come back by id, so two users can act
// at the same time (emoji verification: each confirms in their own browser).
// stdout carries only the replies; logs go to stderr.
import { createInterface } from "node:readline";

const reply = (message) => process.stdout.write(JSON.stringify(message) + "\n");
for (const level of ["log", "info", "debug", "trace", "warn"]) {
  console[level] = (...args) => console.error(`[${level}]`, ...args);
}

const { commands } = await import("./commands.mjs");

const running = new Set();
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  const task = handle(line).finally(() => running.delete(task));
  running.add(task);
});
lines.on("close", async () => {
  await Promise.allSettled([...running]);
  await commands.quit();
  process.exit(0);
});

async function handle(line) {
  let id = null;
  let request = null;
  try {
    request = JSON.parse(line);
    id = request.id;
    const command = commands[request.cmd];
    if (!command) throw new Error(`unknown command ${request.cmd}`);
    const started = Date.now();
    const result = (await command(request.args ?? {})) ?? null;
    console.error(`[driver] ${request.cmd} done in ${Date.now() - started} ms`);
    reply({ id, ok: true, result });
  } catch (error) {
    console.error(error);
    const shot = request ? await commands.failed({ cmd: request.cmd, args: request.args }) : null;
    const where = shot ? `\n(the page at that moment: ${shot})` : "";
    reply({ id, ok: false, error: `${error?.name ?? "Error"}: ${error?.message ?? error}${where}` });
  }
}

reply({ id: 0, ok: true, result: { node: process.version } });
