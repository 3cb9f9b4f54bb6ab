import { afterEach, describe, expect, it, vi } from "vitest";
import { encryptAttachment } from "matrix-encrypt-attachment";
import { parseEncryptedFile } from "./mediaContent";
import { createMediaLoader, safeBlobType } from "./mediaFetch";

afterEach(() => vi.unstubAllGlobals());

async function encryptedSource(plain: Uint8Array) {
  const { data, info } = await encryptAttachment(plain.slice().buffer);
  const encrypted = parseEncryptedFile({ ...info, url: "mxc://example.org/enc" })!;
  return { data, source: { mxc: "mxc://example.org/enc", encrypted } };
}

describe("media loader", () => {
  it("downloads with the access token from the v1 endpoint and decrypts", async () => {
    const plain = new TextEncoder().encode("bonjour Bob");
    const { data, source } = await encryptedSource(plain);
    const calls: [string, RequestInit | undefined][] = [];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      calls.push([url, init]);
      return new Response(data);
    });
    const loader = createMediaLoader("https://hs", "tok");
    const blob = await loader.blob(source, "text/plain");
    expect(new TextDecoder().decode(await blob.arrayBuffer())).toBe("bonjour Bob");
    expect(blob.type).toBe("application/octet-stream");
    expect(calls[0]![0]).toBe("https://hs/_matrix/client/v1/media/download/example.org/enc");
    expect(calls[0]![1]?.headers).toEqual({ Authorization: "Bearer tok" });
  });

  it("refuses ciphertext whose hash does not match the event", async () => {
    const { data, source } = await encryptedSource(new Uint8Array([1, 2, 3]));
    const tampered = new Uint8Array(data.slice(0));
    tampered[0] = tampered[0]! ^ 1;
    vi.stubGlobal("fetch", async () => new Response(tampered));
    await expect(createMediaLoader("https://hs", "tok").blob(source, null)).rejects.toThrow("hash mismatch");
  });

  it("asks the server for thumbnails of unencrypted images only", async () => {
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      return new Response(new Uint8Array([1]), { headers: { "Content-Type": "image/png" } });
    });
    const loader = createMediaLoader("https://hs", "tok");
    const url = await loader.blobUrl({ mxc: "mxc://example.org/p", encrypted: null }, "image/png", { width: 320, height: 240 });
    expect(url.startsWith("blob:")).toBe(true);
    expect(urls).toEqual(["https://hs/_matrix/client/v1/media/thumbnail/example.org/p?width=320&height=240&method=scale"]);
    await loader.blobUrl({ mxc: "mxc://example.org/p", encrypted: null }, "image/png", { width: 320, height: 240 });
    expect(urls).toHaveLength(1);
  });

  it("never lets a decrypted file render as HTML or SVG", () => {
    expect(safeBlobType("text/html")).toBe("application/octet-stream");
    expect(safeBlobType("image/svg+xml")).toBe("application/octet-stream");
    expect(safeBlobType("image/jpeg")).toBe("image/jpeg");
    expect(safeBlobType(null)).toBe("application/octet-stream");
  });
});
