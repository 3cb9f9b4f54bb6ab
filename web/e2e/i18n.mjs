// The client's French catalogue, read where the client keeps it, so that the
// tests find elements by the very names a French user sees (and follow any
// rewording). i18next's rules: dotted keys, {{var}} interpolation, _one/_other
// plurals, and the key itself when a string is missing.
import { readFileSync } from "node:fs";
import path from "node:path";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const FILE = process.env.SCEAU_WEB_I18N ?? path.join(REPO, "web", "src", "i18n", "fr.json");

let catalogue = null;

function lookup(key, count) {
  catalogue ??= JSON.parse(readFileSync(FILE, "utf8"));
  const find = (k) => {
    if (typeof catalogue[k] === "string") return catalogue[k]; // flat keys
    let node = catalogue;
    for (const part of k.split(".")) node = node?.[part];
    return typeof node === "string" ? node : null;
  };
  // French plural rule: 0 and 1 take the singular ("_one").
  const form = count === undefined ? null : count === 0 || count === 1 ? "one" : "other";
  return (
    (form && find(`${key}_${form}`)) ?? find(key) ?? find(`${key}_other`) ?? find(`${key}_one`) ?? key
  );
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The French string of `key` with `vars` filled in; a variable left out matches anything. */
export function tr(key, vars = {}, { exact = true } = {}) {
  const text = lookup(key, vars.count);
  const parts = text.split(/\{\{\s*([\w.]+)\s*\}\}/);
  let source = "";
  parts.forEach((part, i) => {
    if (i % 2 === 0) source += escape(part);
    else source += part in vars ? escape(String(vars[part])) : ".*?";
  });
  return new RegExp(exact ? `^${source}$` : source);
}

/** Whether the catalogue has `key` (a feature whose strings exist is in the client). */
export function has(key) {
  return lookup(key) !== key;
}
