/**
 * Sending files: the size limit is checked before any byte leaves, the file
 * is encrypted in the browser when the room is encrypted (AES-CTR, the
 * EncryptedFile goes in the event's `file`, never a plain `url`), progress is
 * published per upload, and refusals are classified (antivirus, too large…).
 */
import { MatrixError, type MatrixClient } from "matrix-js-sdk";
import { encryptAttachment } from "matrix-encrypt-attachment";
import { Store } from "./store";
import {
  checkUploadSize,
  classifyUploadError,
  effectiveUploadLimit,
  msgtypeFor,
  parseUploadLimit,
  reduceUploads,
  safeFileName,
  type UploadAction,
  type UploadItem,
} from "./mediaUpload";

async function imageSize(file: Blob): Promise<{ w: number; h: number } | null> {
  if (typeof createImageBitmap !== "function") return null;
  try {
    const bitmap = await createImageBitmap(file);
    const size = { w: bitmap.width, h: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return null;
  }
}

function errorDetails(error: unknown): { status?: number; errcode?: string; message?: string; aborted?: boolean } {
  if (error instanceof MatrixError) {
    return { status: error.httpStatus, errcode: error.errcode, message: error.data?.error ?? error.message };
  }
  if (error instanceof DOMException && error.name === "AbortError") return { aborted: true };
  if (error instanceof Error && error.name === "AbortError") return { aborted: true };
  return { status: 0, message: error instanceof Error ? error.message : String(error) };
}

let counter = 0;

export class FileSender {
  readonly uploads = new Store<UploadItem[]>([]);
  private limit: Promise<number | null> | null = null;
  private readonly aborts = new Map<string, AbortController>();

  constructor(
    private readonly client: MatrixClient,
    private readonly configLimit: number | null,
  ) {}

  private dispatch(action: UploadAction): void {
    this.uploads.update((items) => reduceUploads(items, action));
  }

  /** The server's limit (GET /_matrix/client/v1/media/config), asked once, with /config.json's. */
  uploadLimit(): Promise<number | null> {
    this.limit ??= this.client
      .getMediaConfig(true)
      .then((config) => effectiveUploadLimit(parseUploadLimit(config), this.configLimit))
      .catch(() => {
        this.limit = null; // ask again next time
        return this.configLimit;
      });
    return this.limit;
  }

  /** Send files one after the other, in the order given. */
  async sendFiles(roomId: string, files: readonly File[], threadId: string | null = null): Promise<void> {
    for (const file of files) await this.send(roomId, file, threadId);
  }

  /** Upload then send one file; never throws (failures stay in `uploads` with their reason). */
  async send(roomId: string, file: File, threadId: string | null = null): Promise<void> {
    counter += 1;
    const id = `upload-${Date.now()}-${counter}`;
    const encrypt = (await this.client.getCrypto()?.isEncryptionEnabledInRoom(roomId)) ?? false;
    const name = safeFileName(file.name, "fichier");
    this.dispatch({ type: "start", id, roomId, name, size: file.size, encrypt });
    const limitCheck = checkUploadSize(file.size, await this.uploadLimit());
    if (!limitCheck.ok) {
      this.dispatch({ type: "failed", id, error: "too_large", limit: limitCheck.limit });
      return;
    }
    const abort = new AbortController();
    this.aborts.set(id, abort);
    try {
      const mimetype = file.type || "application/octet-stream";
      const msgtype = msgtypeFor(mimetype);
      const info: Record<string, unknown> = { mimetype, size: file.size };
      if (msgtype === "m.image") {
        const size = await imageSize(file);
        if (size) Object.assign(info, size);
      }
      let body: Blob = file;
      let encrypted: Awaited<ReturnType<typeof encryptAttachment>>["info"] | null = null;
      if (encrypt) {
        const result = await encryptAttachment(await file.arrayBuffer());
        body = new Blob([result.data], { type: "application/octet-stream" });
        encrypted = result.info;
      }
      if (abort.signal.aborted) throw new DOMException("cancelled", "AbortError");
      const { content_uri: uri } = await this.client.uploadContent(body, {
        // The server must not learn the name or type of an encrypted file.
        name: encrypted ? undefined : name,
        type: encrypted ? "application/octet-stream" : mimetype,
        includeFilename: !encrypted,
        abortController: abort,
        progressHandler: ({ loaded, total }) => this.dispatch({ type: "progress", id, loaded, total }),
      });
      this.dispatch({ type: "sending", id });
      const content: Record<string, unknown> = { msgtype, body: name, filename: name, info };
      if (encrypted) content.file = { ...encrypted, url: uri };
      else content.url = uri;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      await this.client.sendMessage(roomId, threadId, content as any);
      this.dispatch({ type: "done", id });
    } catch (error) {
      this.dispatch({ type: "failed", id, error: classifyUploadError(errorDetails(error)) });
    } finally {
      this.aborts.delete(id);
    }
  }

  cancel(id: string): void {
    this.aborts.get(id)?.abort();
  }

  dismiss(id: string): void {
    this.dispatch({ type: "dismiss", id });
  }
}
