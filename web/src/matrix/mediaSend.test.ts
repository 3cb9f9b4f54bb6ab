import { describe, expect, it } from "vitest";
import { MatrixError, type MatrixClient } from "matrix-js-sdk";
import { decryptAttachment } from "matrix-encrypt-attachment";
import { FileSender } from "./mediaSend";

interface Upload {
  body: Blob;
  opts: { name?: string; type?: string; includeFilename?: boolean; progressHandler?: (p: { loaded: number; total: number }) => void };
}

function fakeClient(options: { encrypted: boolean; serverLimit?: number; fail?: MatrixError }) {
  const uploads: Upload[] = [];
  const sent: { roomId: string; threadId: string | null; content: Record<string, unknown> }[] = [];
  const progressSeen: number[] = [];
  const client = {
    getMediaConfig: async () => (options.serverLimit ? { "m.upload.size": options.serverLimit } : {}),
    getCrypto: () => ({ isEncryptionEnabledInRoom: async () => options.encrypted }),
    uploadContent: async (body: Blob, opts: Upload["opts"]) => {
      uploads.push({ body, opts });
      opts.progressHandler?.({ loaded: Math.floor(body.size / 2), total: body.size });
      if (options.fail) throw options.fail;
      return { content_uri: "mxc://example.org/up1" };
    },
    sendMessage: async (roomId: string, threadId: string | null, content: Record<string, unknown>) => {
      sent.push({ roomId, threadId, content });
      return { event_id: "$e" };
    },
  } as unknown as MatrixClient;
  return { client, uploads, sent, progressSeen };
}

const file = (size: number, name = "rapport.pdf", type = "application/pdf") =>
  new File([new Uint8Array(size).fill(7)], name, { type });

describe("sending files", () => {
  it("refuses a file over the server's limit before uploading anything", async () => {
    const { client, uploads, sent } = fakeClient({ encrypted: false, serverLimit: 100 });
    const sender = new FileSender(client, null);
    await sender.send("!r", file(101));
    expect(uploads).toHaveLength(0);
    expect(sent).toHaveLength(0);
    expect(sender.uploads.get()).toMatchObject([{ phase: "failed", error: "too_large", limit: 100, name: "rapport.pdf" }]);
  });

  it("applies /config.json's limit when it is the stricter one", async () => {
    const { client, uploads } = fakeClient({ encrypted: false, serverLimit: 1000 });
    const sender = new FileSender(client, 10);
    await sender.send("!r", file(11));
    expect(uploads).toHaveLength(0);
    expect(sender.uploads.get()[0]).toMatchObject({ error: "too_large", limit: 10 });
  });

  it("sends a plain file by url in an unencrypted room, with its name and type", async () => {
    const { client, uploads, sent } = fakeClient({ encrypted: false });
    const sender = new FileSender(client, null);
    await sender.send("!r", file(20), "$thread");
    expect(uploads[0]!.opts).toMatchObject({ name: "rapport.pdf", type: "application/pdf", includeFilename: true });
    expect(sent).toEqual([
      {
        roomId: "!r",
        threadId: "$thread",
        content: {
          msgtype: "m.file",
          body: "rapport.pdf",
          filename: "rapport.pdf",
          info: { mimetype: "application/pdf", size: 20 },
          url: "mxc://example.org/up1",
        },
      },
    ]);
    expect(sender.uploads.get()).toEqual([]);
  });

  it("encrypts in an encrypted room: ciphertext uploaded without name or type, EncryptedFile in `file`", async () => {
    const { client, uploads, sent } = fakeClient({ encrypted: true });
    const sender = new FileSender(client, null);
    await sender.send("!r", file(64, "photo.png", "image/png"));
    const uploaded = uploads[0]!;
    expect(uploaded.opts).toMatchObject({ name: undefined, type: "application/octet-stream", includeFilename: false });
    const content = sent[0]!.content;
    expect(content.msgtype).toBe("m.image");
    expect(content).not.toHaveProperty("url");
    const info = content.file as { url: string; v: string; key: { alg: string }; iv: string; hashes: { sha256: string } };
    expect(info).toMatchObject({ url: "mxc://example.org/up1", v: "v2", key: { alg: "A256CTR" } });
    const cipher = new Uint8Array(await uploaded.body.arrayBuffer());
    expect(cipher).not.toEqual(new Uint8Array(64).fill(7));
    const plain = new Uint8Array(await decryptAttachment(cipher.buffer, info as never));
    expect(plain).toEqual(new Uint8Array(64).fill(7));
  });

  it("keeps the antivirus refusal as its own reason", async () => {
    const refusal = new MatrixError({ errcode: "M_FORBIDDEN", error: "This file failed the antivirus scan" }, 403);
    const { client, sent } = fakeClient({ encrypted: false, fail: refusal });
    const sender = new FileSender(client, null);
    await sender.send("!r", file(68, "facture.pdf"));
    expect(sent).toHaveLength(0);
    expect(sender.uploads.get()).toMatchObject([{ name: "facture.pdf", phase: "failed", error: "antivirus" }]);
  });

  it("reports progress while uploading", async () => {
    const { client } = fakeClient({ encrypted: false });
    const sender = new FileSender(client, null);
    const seen: number[] = [];
    sender.uploads.subscribe(() => {
      const item = sender.uploads.get()[0];
      if (item?.phase === "uploading") seen.push(item.loaded);
    });
    await sender.send("!r", file(40));
    expect(seen).toContain(20);
  });
});
