import { describe, expect, it } from "vitest";
import type { TimelineItem } from "../../matrix/timeline";
import { ItemIndexer } from "./Timeline";

const ev = (key: string) => ({ type: "event", key }) as unknown as TimelineItem;
const date = (key: string) => ({ type: "date", key, ts: 0 }) as TimelineItem;

describe("ItemIndexer", () => {
  it("lowers the first index by the number of rows prepended", () => {
    const indexer = new ItemIndexer();
    const start = indexer.indexFor([date("d1"), ev("a"), ev("b")]);
    expect(indexer.indexFor([date("d0"), ev("x"), date("d1"), ev("a"), ev("b")])).toBe(start - 2);
    expect(indexer.indexFor([date("d0"), ev("x"), date("d1"), ev("a"), ev("b"), ev("c")])).toBe(start - 2);
  });
});
