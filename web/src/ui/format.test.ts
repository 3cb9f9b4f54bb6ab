import { describe, expect, it } from "vitest";
import { formatBytes, formatDay } from "./format";

describe("formatDay", () => {
  const now = new Date(2026, 11, 6, 10, 0).getTime();
  it("names today and yesterday", () => {
    expect(formatDay(new Date(2026, 11, 6, 1, 0).getTime(), "fr", now).kind).toBe("today");
    expect(formatDay(new Date(2026, 11, 5, 23, 0).getTime(), "fr", now).kind).toBe("yesterday");
  });
  it("writes older days in full, in the UI language", () => {
    const day = formatDay(new Date(2026, 10, 2, 12, 0).getTime(), "fr", now);
    expect(day.kind).toBe("date");
    expect(day.text).toBe("lundi 2 novembre");
  });
});

describe("formatBytes", () => {
  it("uses the largest unit below 1024", () => {
    expect(formatBytes(512, "en")).toBe("512 B");
    expect(formatBytes(1536, "en")).toBe("1.5 KB");
  });
});
