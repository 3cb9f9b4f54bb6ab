import { describe, expect, it } from "vitest";
import { formatRoute, parseRoute } from "./route";

describe("hash routes", () => {
  it("round-trip a room and a thread", () => {
    const route = { roomId: "!abc:hs.example", threadId: "$ev/1" };
    expect(parseRoute(formatRoute(route))).toEqual(route);
    expect(parseRoute(formatRoute({ roomId: "!x:hs", threadId: null }))).toEqual({ roomId: "!x:hs", threadId: null });
  });
  it("treat anything else as the room list", () => {
    expect(parseRoute("")).toEqual({ roomId: null, threadId: null });
    expect(parseRoute("#/settings")).toEqual({ roomId: null, threadId: null });
    expect(formatRoute({ roomId: null, threadId: null })).toBe("#/");
  });
});
