// Precompress the built client (brotli and gzip copies next to each file), run
// after `vite build`. Sceau serves `file.br` or `file.gz` to browsers whose
// Accept-Encoding allows it, so nothing is compressed per request.
//
// Usage: node scripts/compress.mjs [dist]      (default: dist next to this folder)
// Node's own zlib does both encodings: no dependency.
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const COMPRESSIBLE = new Set([
  ".html", ".js", ".mjs", ".css", ".json", ".wasm", ".svg", ".txt", ".webmanifest", ".map",
]);
/** Smaller files gain nothing worth a second request path. */
const MIN_BYTES = 1024;
/** A copy must save at least this share of the bytes to be kept. */
const MIN_SAVING = 0.1;
/** Brotli's best quality is slow on megabytes of WASM: one notch lower above this size. */
const BROTLI_MAX_QUALITY_BYTES = 1024 * 1024;

async function* files(folder) {
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (entry.isFile()) yield full;
  }
}

export async function compressFolder(dist) {
  const report = [];
  // Copies from an earlier build would be served for files that changed.
  for await (const file of files(dist)) {
    if (file.endsWith(".br") || file.endsWith(".gz")) await rm(file);
  }
  for await (const file of files(dist)) {
    if (!COMPRESSIBLE.has(path.extname(file).toLowerCase())) continue;
    const bytes = await readFile(file);
    if (bytes.length < MIN_BYTES) continue;
    const quality =
      bytes.length > BROTLI_MAX_QUALITY_BYTES ? 9 : constants.BROTLI_MAX_QUALITY;
    const variants = {
      ".br": brotliCompressSync(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: quality,
          [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      }),
      ".gz": gzipSync(bytes, { level: 9 }),
    };
    for (const [suffix, packed] of Object.entries(variants)) {
      if (packed.length > bytes.length * (1 - MIN_SAVING)) continue;
      await writeFile(file + suffix, packed);
      report.push({ file: path.relative(dist, file) + suffix, bytes: packed.length });
    }
  }
  return report;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dist = path.resolve(process.argv[2] ?? path.join(here, "..", "dist"));
  const report = await compressFolder(dist);
  const total = (suffix) =>
    report.filter((r) => r.file.endsWith(suffix)).reduce((sum, r) => sum + r.bytes, 0);
  const count = (suffix) => report.filter((r) => r.file.endsWith(suffix)).length;
  console.log(
    `precompressed ${dist}: ${count(".br")} brotli copies (${(total(".br") / 1024).toFixed(0)} KB),` +
      ` ${count(".gz")} gzip copies (${(total(".gz") / 1024).toFixed(0)} KB)`,
  );
}
