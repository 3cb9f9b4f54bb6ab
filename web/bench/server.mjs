// A local Sceau for the bench: its own process, SQLite in a temporary folder,
// a free port, open registration, no rate limits, serving web/dist.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export const REPO = path.resolve(import.meta.dirname, "..", "..");

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function python() {
  const venv = path.join(REPO, ".venv", "bin", "python");
  return process.env.SCEAU_PYTHON ?? (existsSync(venv) ? venv : "python3");
}

/** Start Sceau; resolves once /versions answers. `stop()` ends it and removes its data. */
export async function startSceau({ dist = path.join(REPO, "web", "dist") } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "sceau-web-bench-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = {
    server_name: "bench.test",
    public_baseurl: `${url}/`,
    listeners: [{ bind_address: "127.0.0.1", port }],
    database: { backend: "sqlite", path: "sceau.db" },
    registration: { mode: "open" },
    rate_limits: { enabled: false },
    encryption: { encrypt_new_rooms: "off" },
    web_client: { path: dist },
  };
  // JSON is YAML: no YAML library needed.
  await writeFile(path.join(dir, "sceau.yaml"), JSON.stringify(config, null, 2));
  const child = spawn(python(), ["-m", "sceau", "serve", "--config", path.join(dir, "sceau.yaml")], {
    cwd: REPO,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-8000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sceau exited during start-up:\n${log}`);
    try {
      const response = await fetch(`${url}/_matrix/client/versions`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`sceau did not answer within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
