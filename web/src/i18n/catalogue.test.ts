import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import en from "./en.json";
import fr from "./fr.json";

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of flatten(value, path)) out.set(k, v);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) files.push(path);
  }
  return files;
}

/** Plural keys are used without their _one/_other suffix. */
function baseKeys(keys: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const key of keys) out.add(key.replace(/_(zero|one|two|few|many|other)$/, ""));
  return out;
}

const frKeys = flatten(fr as Tree);
const enKeys = flatten(en as Tree);

describe("i18n catalogues", () => {
  it("French (the reference) has every key English has, and the other way round", () => {
    const missingInFr = [...enKeys.keys()].filter((k) => !frKeys.has(k));
    const missingInEn = [...frKeys.keys()].filter((k) => !enKeys.has(k));
    expect(missingInFr).toEqual([]);
    expect(missingInEn).toEqual([]);
  });

  it("has no empty translation", () => {
    const empty = [...frKeys, ...enKeys].filter(([, v]) => v.trim() === "").map(([k]) => k);
    expect(empty).toEqual([]);
  });

  it("keeps the same interpolation variables in both languages", () => {
    const vars = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();
    const mismatched = [...frKeys.keys()].filter(
      (k) => enKeys.has(k) && vars(frKeys.get(k)!).join() !== vars(enKeys.get(k)!).join(),
    );
    expect(mismatched).toEqual([]);
  });

  it("defines every key the source code uses", () => {
    const known = baseKeys(frKeys.keys());
    const used = new Set<string>();
    const pattern = /\bt\(\s*["'`]([\w.-]+)["'`]/g;
    for (const file of sourceFiles(fileURLToPath(new URL("..", import.meta.url)))) {
      for (const match of readFileSync(file, "utf8").matchAll(pattern)) used.add(match[1]!);
    }
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((k) => !known.has(k)).sort()).toEqual([]);
  });
});
