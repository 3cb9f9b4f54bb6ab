import { describe, expect, it } from "vitest";
import { attachmentOf, downloadPath, fitWithin, parseEncryptedFile, scaledThumbnailPath } from "./mediaContent";

const encrypted = {
  url: "mxc://example.org/abc",
  key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: "qcHVMSgYg-71CauWBezXI5qkaRb0LuIy-Wx5kIaHMIA", ext: true },
  iv: "X85+XgHN+HEAAAAAAAAAAA",
  hashes: { sha256: "5qG4fFnbbVdlAB1Q72JDKwCagV6Dbkx9PpD8N/pPD4s" },
  v: "v2",
};

describe("received attachments", () => {
  it("reads an unencrypted image with its size and dimensions", () => {
    const a = attachmentOf({
      msgtype: "m.image",
      body: "photo.png",
      url: "mxc://example.org/img",
      info: { mimetype: "image/png", size: 1234, w: 800, h: 600, thumbnail_url: "mxc://example.org/th" },
    });
    expect(a).toEqual({
      kind: "image",
      name: "photo.png",
      mimetype: "image/png",
      size: 1234,
      width: 800,
      height: 600,
      source: { mxc: "mxc://example.org/img", encrypted: null },
      thumbnail: { mxc: "mxc://example.org/th", encrypted: null },
    });
  });

  it("reads an encrypted file from `file`, preferring `filename` over the body", () => {
    const a = attachmentOf({ msgtype: "m.file", body: "caption", filename: "rapport.pdf", file: encrypted });
    expect(a?.kind).toBe("file");
    expect(a?.name).toBe("rapport.pdf");
    expect(a?.source.mxc).toBe("mxc://example.org/abc");
    expect(a?.source.encrypted?.key.k).toBe(encrypted.key.k);
    expect(a?.thumbnail).toBeNull();
  });

  it("rejects malformed encrypted files and non-file messages", () => {
    expect(parseEncryptedFile({ ...encrypted, v: "v1" })).toBeNull();
    expect(parseEncryptedFile({ ...encrypted, key: { ...encrypted.key, alg: "A128CTR" } })).toBeNull();
    expect(parseEncryptedFile({ ...encrypted, url: "https://evil/x" })).toBeNull();
    expect(parseEncryptedFile({ ...encrypted, hashes: {} })).toBeNull();
    expect(attachmentOf({ msgtype: "m.file", body: "x", file: { url: "mxc://a/b" } })).toBeNull();
    expect(attachmentOf({ msgtype: "m.text", body: "hello" })).toBeNull();
    expect(attachmentOf({ msgtype: "m.image", body: "x" })).toBeNull();
  });

  it("treats stickers as images", () => {
    expect(attachmentOf({ body: "s", url: "mxc://a/b" }, "m.sticker")?.kind).toBe("image");
  });
});

describe("media paths", () => {
  it("uses the authenticated v1 endpoints, with the file name in the download path", () => {
    expect(downloadPath("mxc://example.org/abc", "mon rapport.pdf")).toBe(
      "/_matrix/client/v1/media/download/example.org/abc/mon%20rapport.pdf",
    );
    expect(downloadPath("mxc://example.org/abc")).toBe("/_matrix/client/v1/media/download/example.org/abc");
    expect(scaledThumbnailPath("mxc://example.org/abc", 320, 240)).toBe(
      "/_matrix/client/v1/media/thumbnail/example.org/abc?width=320&height=240&method=scale",
    );
    expect(downloadPath("not-mxc")).toBeNull();
  });

  it("fits images in a box keeping their ratio and never upscales", () => {
    expect(fitWithin(800, 600, 320, 320)).toEqual({ width: 320, height: 240 });
    expect(fitWithin(100, 50, 320, 320)).toEqual({ width: 100, height: 50 });
    expect(fitWithin(null, 50, 320, 320)).toEqual({ width: 320, height: 160 });
  });
});
