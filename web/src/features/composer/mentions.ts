import { normalise } from "../../matrix/roomList";
import type { Person } from "../../matrix/timeline";

/** The "@partial" being typed just before the caret, if any. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|\s)@([\p{L}\p{N}._-]{0,30})$/u.exec(before);
  if (!match) return null;
  return { start: caret - match[2]!.length - 1, query: match[2]! };
}

export function matchMembers(members: readonly Person[], query: string, limit = 6): Person[] {
  const needle = normalise(query);
  return members
    .filter((m) => normalise(m.name).includes(needle) || normalise(m.userId).includes(needle))
    .slice(0, limit);
}

/** Replace "@partial" with the member's name and a trailing space. */
export function insertMention(text: string, start: number, caret: number, name: string): { text: string; caret: number } {
  const inserted = `${name} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret), caret: start + inserted.length };
}
