import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { attachmentOf, fitWithin, type Attachment } from "../../matrix/mediaContent";
import { saveBlob } from "../../matrix/mediaFetch";
import { formatBytes } from "../../matrix/mediaUpload";
import { scanRefusalKey } from "../policy/policyErrors";
import { ImageViewer } from "./ImageViewer";
import "./files.css";

const THUMB = { width: 320, height: 240 };

function useBlobUrl(attachment: Attachment, thumbnail: boolean): { url: string | null; failed: boolean; scanKey: string | null } {
  const { media } = useSession().e2ee;
  const [state, setState] = useState<{ key: string; url: string | null; failed: boolean; scanKey: string | null } | null>(null);
  const source = thumbnail && attachment.thumbnail ? attachment.thumbnail : attachment.source;
  // Encrypted media cannot be thumbnailed by the server: decrypt the file (or its thumbnail_file).
  const serverThumb = thumbnail && !source.encrypted ? THUMB : undefined;
  const key = `${source.mxc}|${serverThumb ? "t" : "f"}`;
  useEffect(() => {
    let live = true;
    media.blobUrl(source, attachment.mimetype ?? "image/png", serverThumb).then(
      (url) => live && setState({ key, url, failed: false, scanKey: null }),
      (err: unknown) => live && setState({ key, url: null, failed: true, scanKey: scanRefusalKey(err) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return state?.key === key ? { url: state.url, failed: state.failed, scanKey: state.scanKey } : { url: null, failed: false, scanKey: null };
}

function ImageAttachment({ attachment }: { attachment: Attachment }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const { url, failed, scanKey } = useBlobUrl(attachment, true);
  const box = fitWithin(attachment.width, attachment.height, THUMB.width, THUMB.height);
  if (scanKey) return <p className="scan-blocked" role="note">{t(scanKey)}</p>;
  if (failed) return <p className="event-muted">{t("files.imageFailed", { name: attachment.name })}</p>;
  return (
    <>
      <button
        type="button"
        className="image-thumb"
        style={{ width: box.width, height: box.height }}
        onClick={() => setOpen(true)}
        aria-label={t("files.openImage", { name: attachment.name })}
      >
        {url ? (
          <img src={url} alt={attachment.name} width={box.width} height={box.height} />
        ) : (
          <span className="spinner" aria-label={t("files.loadingImage")} role="img" />
        )}
      </button>
      {open && <ImageViewer attachment={attachment} onClose={() => setOpen(false)} />}
    </>
  );
}

function FileAttachment({ attachment }: { attachment: Attachment }) {
  const { t, i18n } = useTranslation();
  const { media } = useSession().e2ee;
  const [state, setState] = useState<"idle" | "loading" | "failed">("idle");
  const [scanKey, setScanKey] = useState<string | null>(null);
  async function download() {
    setState("loading");
    try {
      saveBlob(await media.blob(attachment.source, attachment.mimetype), attachment.name);
      setState("idle");
    } catch (err) {
      setScanKey(scanRefusalKey(err));
      setState("failed");
    }
  }
  return (
    <div className="file-attachment">
      <span className="file-name">{attachment.name}</span>
      {attachment.size !== null && <span className="hint">{formatBytes(attachment.size, i18n.language)}</span>}
      {/* The antivirus's verdict on a file does not change: no download to offer again. */}
      {scanKey !== "policy.scan.blocked" && (
        <button type="button" className="button button-small" disabled={state === "loading"} onClick={() => void download()}>
          {t("files.download", { name: attachment.name })}
        </button>
      )}
      {state === "failed" && (
        <span className="form-error" role="alert">
          {scanKey ? t(scanKey) : t("files.downloadFailed")}
        </span>
      )}
    </div>
  );
}

/** The body of a file message: a thumbnail opening a viewer for images, a download for the rest. */
export function AttachmentView({ content, eventType }: { content: Record<string, unknown>; eventType?: string }) {
  const { t } = useTranslation();
  const attachment = attachmentOf(content, eventType);
  if (!attachment) return <p className="event-muted">{t("files.invalid")}</p>;
  return attachment.kind === "image" ? <ImageAttachment attachment={attachment} /> : <FileAttachment attachment={attachment} />;
}
