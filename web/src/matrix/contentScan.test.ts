import { afterEach, describe, expect, it, vi } from "vitest";
import { encryptAttachment } from "matrix-encrypt-attachment";
import { MediaBlockedError, ScanUnavailableError, requireCleanEncrypted, scanVerdict } from "./contentScan";
import { parseEncryptedFile } from "./mediaContent";
import { createMediaLoader } from "./mediaFetch";

afterEach(() => vi.unstubAllGlobals());

async function encryptedSource(plain: Uint8Array) {
  const { data, info } = await encryptAttachment(plain.slice().buffer);
  const encrypted = parseEncryptedFile({ ...info, url: "mxc://example.org/enc" })!;
  return { data, source: { mxc: "mxc://example.org/enc", encrypted } };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

describe("scan verdict", () => {
  it("is clean only when the scanner says clean", () => {
    expect(scanVerdict(200, { clean: true, info: "File is clean" })).toBe("clean");
    expect(scanVerdict(200, { clean: false, info: "Eicar-Signature" })).toBe("blocked");
    expect(scanVerdict(200, {})).toBe("blocked");
  });

  it("treats MCS_MEDIA_NOT_CLEAN as blocked", () => {
    expect(scanVerdict(403, { errcode: "MCS_MEDIA_NOT_CLEAN", error: "***VIRUS DETECTED***" })).toBe("blocked");
  });

  it("lets our own hash check judge a key the scanner could not use", () => {
    expect(scanVerdict(400, { errcode: "MCS_BAD_DECRYPTION" })).toBe("clean");
    expect(scanVerdict(400, { errcode: "MCS_MEDIA_FAILED_TO_DECRYPT" })).toBe("clean");
  });

  it("gives no verdict when the scanner fails", () => {
    expect(scanVerdict(502, { errcode: "MCS_MEDIA_REQUEST_FAILED" })).toBe("unavailable");
    expect(scanVerdict(500, null)).toBe("unavailable");
  });
});

describe("scanning before decrypting", () => {
  it("posts the EncryptedFile with the access token", async () => {
    const { source } = await encryptedSource(new Uint8Array([1, 2, 3]));
    const calls: [string, RequestInit | undefined][] = [];
    const fetchFn = (async (url: string, init?: RequestInit) => {
      calls.push([url, init]);
      return json(200, { clean: true, info: "File is clean" });
    }) as typeof fetch;
    await requireCleanEncrypted("https://hs.test", "tok", source.encrypted, fetchFn);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBe("https://hs.test/_matrix/media_proxy/unstable/scan_encrypted");
    expect(calls[0]![1]?.method).toBe("POST");
    expect((calls[0]![1]?.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(JSON.parse(calls[0]![1]?.body as string)).toEqual({ file: source.encrypted });
  });

  it("never downloads nor decrypts a file the antivirus refused", async () => {
    const { source } = await encryptedSource(new TextEncoder().encode("X5O!P%@AP"));
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      return json(403, { errcode: "MCS_MEDIA_NOT_CLEAN", error: "***VIRUS DETECTED***" });
    });
    const loader = createMediaLoader("https://hs.test", "tok", { scanEncrypted: true });
    await expect(loader.blob(source, "application/pdf")).rejects.toBeInstanceOf(MediaBlockedError);
    expect(urls).toEqual(["https://hs.test/_matrix/media_proxy/unstable/scan_encrypted"]);
  });

  it("decrypts a clean file after its scan", async () => {
    const plain = new TextEncoder().encode("rapport propre");
    const { data, source } = await encryptedSource(plain);
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      if (url.endsWith("/scan_encrypted")) return json(200, { clean: true, info: "File is clean" });
      return new Response(data, { status: 200 });
    });
    const loader = createMediaLoader("https://hs.test", "tok", { scanEncrypted: true });
    const blob = await loader.blob(source, "text/plain");
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(plain);
    expect(urls[0]).toMatch(/scan_encrypted$/);
    expect(urls[1]).toMatch(/\/_matrix\/client\/v1\/media\/download\/example\.org\/enc/);
  });

  it("shows nothing when the scanner is down", async () => {
    const { source } = await encryptedSource(new Uint8Array([4]));
    vi.stubGlobal("fetch", async () => json(502, { errcode: "MCS_MEDIA_REQUEST_FAILED" }));
    const loader = createMediaLoader("https://hs.test", "tok", { scanEncrypted: true });
    await expect(loader.blob(source, null)).rejects.toBeInstanceOf(ScanUnavailableError);
  });

  it("does not scan when the server has no scanner", async () => {
    const plain = new Uint8Array([7, 8]);
    const { data, source } = await encryptedSource(plain);
    const urls: string[] = [];
    vi.stubGlobal("fetch", async (url: string) => {
      urls.push(url);
      return new Response(data, { status: 200 });
    });
    await createMediaLoader("https://hs.test", "tok").blob(source, null);
    expect(urls.some((u) => u.includes("media_proxy"))).toBe(false);
  });
});
