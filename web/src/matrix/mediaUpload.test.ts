import { describe, expect, it } from "vitest";
import {
  checkUploadSize,
  classifyUploadError,
  effectiveUploadLimit,
  formatBytes,
  msgtypeFor,
  parseUploadLimit,
  reduceUploads,
  safeFileName,
  uploadPercent,
  type UploadItem,
} from "./mediaUpload";

describe("upload limit", () => {
  it("reads m.upload.size from the media config", () => {
    expect(parseUploadLimit({ "m.upload.size": 52428800 })).toBe(52428800);
    expect(parseUploadLimit({})).toBeNull();
    expect(parseUploadLimit({ "m.upload.size": "big" })).toBeNull();
    expect(parseUploadLimit(null)).toBeNull();
  });

  it("keeps the strictest known limit", () => {
    expect(effectiveUploadLimit(100, 50)).toBe(50);
    expect(effectiveUploadLimit(null, 50)).toBe(50);
    expect(effectiveUploadLimit(null, undefined)).toBeNull();
  });

  it("refuses a file over the limit before uploading, and accepts one at the limit", () => {
    expect(checkUploadSize(1001, 1000)).toEqual({ ok: false, limit: 1000 });
    expect(checkUploadSize(1000, 1000)).toEqual({ ok: true });
    expect(checkUploadSize(10 ** 12, null)).toEqual({ ok: true });
  });
});

describe("upload errors", () => {
  it("recognises the antivirus refusal sent by Sceau", () => {
    expect(
      classifyUploadError({ status: 403, errcode: "M_FORBIDDEN", message: "This file failed the antivirus scan" }),
    ).toBe("antivirus");
  });

  it("tells other refusals apart", () => {
    expect(classifyUploadError({ status: 403, errcode: "M_FORBIDDEN", message: "Not yours" })).toBe("forbidden");
    expect(classifyUploadError({ status: 413, errcode: "M_TOO_LARGE", message: "Cannot upload" })).toBe("too_large");
    expect(
      classifyUploadError({ status: 503, errcode: "M_UNKNOWN", message: "The antivirus scan is unavailable; try again later" }),
    ).toBe("scan_unavailable");
    expect(classifyUploadError({ status: 0 })).toBe("network");
    expect(classifyUploadError({ aborted: true, status: 0 })).toBe("cancelled");
    expect(classifyUploadError({ status: 500, errcode: "M_UNKNOWN" })).toBe("unknown");
  });
});

describe("message type", () => {
  it("sends displayable images as m.image and the rest by family", () => {
    expect(msgtypeFor("image/png")).toBe("m.image");
    expect(msgtypeFor("IMAGE/JPEG")).toBe("m.image");
    expect(msgtypeFor("image/svg+xml")).toBe("m.file");
    expect(msgtypeFor("video/mp4")).toBe("m.video");
    expect(msgtypeFor("audio/ogg")).toBe("m.audio");
    expect(msgtypeFor("application/pdf")).toBe("m.file");
    expect(msgtypeFor("")).toBe("m.file");
  });
});

describe("upload progress", () => {
  const start = (encrypt: boolean) =>
    reduceUploads([], { type: "start", id: "u1", roomId: "!r", name: "a.png", size: 200, encrypt });

  it("goes encrypting, uploading with progress, sending, then leaves the list", () => {
    let items: UploadItem[] = start(true);
    expect(items[0]!.phase).toBe("encrypting");
    expect(uploadPercent(items[0]!)).toBe(0);
    items = reduceUploads(items, { type: "progress", id: "u1", loaded: 50, total: 200 });
    expect(items[0]!.phase).toBe("uploading");
    expect(uploadPercent(items[0]!)).toBe(25);
    items = reduceUploads(items, { type: "progress", id: "u1", loaded: 20 });
    expect(items[0]!.loaded).toBe(50);
    items = reduceUploads(items, { type: "sending", id: "u1" });
    expect(uploadPercent(items[0]!)).toBe(100);
    expect(reduceUploads(items, { type: "done", id: "u1" })).toEqual([]);
  });

  it("starts at uploading without encryption", () => {
    expect(start(false)[0]!.phase).toBe("uploading");
  });

  it("keeps a failed upload with its reason until dismissed, ignoring late progress", () => {
    let items = reduceUploads(start(false), { type: "failed", id: "u1", error: "antivirus" });
    items = reduceUploads(items, { type: "progress", id: "u1", loaded: 200 });
    expect(items[0]).toMatchObject({ phase: "failed", error: "antivirus", loaded: 0 });
    expect(reduceUploads(items, { type: "dismiss", id: "u1" })).toEqual([]);
  });

  it("records the limit of a too-large refusal", () => {
    const items = reduceUploads(start(false), { type: "failed", id: "u1", error: "too_large", limit: 100 });
    expect(items[0]!.limit).toBe(100);
  });

  it("updates only the upload concerned", () => {
    let items = start(false);
    items = reduceUploads(items, { type: "start", id: "u2", roomId: "!r", name: "b", size: 10, encrypt: false });
    items = reduceUploads(items, { type: "progress", id: "u2", loaded: 5 });
    expect(items.map((i) => i.loaded)).toEqual([0, 5]);
  });
});

describe("file names and sizes", () => {
  it("strips paths and control characters from names", () => {
    expect(safeFileName("../../etc/passwd", "f")).toBe("passwd");
    expect(safeFileName("C:\\temp\\r\u0007apport.pdf", "f")).toBe("rapport.pdf");
    expect(safeFileName("..", "f")).toBe("f");
    expect(safeFileName(42, "f")).toBe("f");
  });

  it("formats sizes in French and English", () => {
    expect(formatBytes(1_500_000, "fr")).toMatch(/^1,5\sMo$/);
    expect(formatBytes(1_500_000, "en")).toBe("1.5 MB");
    expect(formatBytes(999, "en")).toBe("999 byte");
  });
});
