// A matrix-js-sdk client (Rust crypto) driven over stdio, one JSON object a line.
//
// Request:  {"id": 1, "cmd": "login", "args": {...}}
// Reply:    {"id": 1, "ok": true, "result": ...}  or  {"id": 1, "ok": false, "error": "..."}
//
// stdout carries only these replies: everything the SDK logs goes to stderr,
// so the Python side can show it when a test fails.
import { createInterface } from "node:readline";

const reply = (message) => process.stdout.write(JSON.stringify(message) + "\n");
for (const level of ["log", "info", "debug", "trace", "warn"]) {
  console[level] = (...args) => console.error(`[${level}]`, ...args);
}

const { commands } = await import("./commands.mjs");

// Commands run one at a time, in order: a test reads like a script.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(() => handle(line));
});
lines.on("close", () => queue.then(() => commands.quit()).then(() => process.exit(0)));

async function handle(line) {
  let id = null;
  try {
    const request = JSON.parse(line);
    id = request.id;
    const command = commands[request.cmd];
    if (!command) throw new Error(`unknown command ${request.cmd}`);
    const started = Date.now();
    const result = (await command(request.args ?? {})) ?? null;
    console.error(`[driver] ${request.cmd} done in ${Date.now() - started} ms`);
    reply({ id, ok: true, result });
  } catch (error) {
    const detail = error?.data ? ` ${JSON.stringify(error.data)}` : "";
    console.error(error);
    reply({ id, ok: false, error: `${error?.name ?? "Error"}: ${error?.message ?? error}${detail}` });
  }
}

reply({ id: 0, ok: true, result: { node: process.version } });
