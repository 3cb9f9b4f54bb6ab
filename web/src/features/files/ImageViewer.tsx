import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { Dialog } from "../../ui/Dialog";
import type { Attachment } from "../../matrix/mediaContent";
import { saveBlob } from "../../matrix/mediaFetch";

/** The full image in a dialog, with a download button. */
export function ImageViewer({ attachment, onClose }: { attachment: Attachment; onClose: () => void }) {
  const { t } = useTranslation();
  const { media } = useSession().e2ee;
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    media.blobUrl(attachment.source, attachment.mimetype ?? "image/png").then(
      (u) => live && setUrl(u),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [media, attachment]);
  return (
    <Dialog title={attachment.name} onClose={onClose} wide>
      <div className="image-viewer">
        {failed ? (
          <p role="alert">{t("files.imageFailed", { name: attachment.name })}</p>
        ) : url ? (
          <img src={url} alt={attachment.name} />
        ) : (
          <span className="spinner" role="img" aria-label={t("files.loadingImage")} />
        )}
      </div>
      <div className="button-row">
        <button
          type="button"
          className="button"
          disabled={!url}
          onClick={() => void media.blob(attachment.source, attachment.mimetype).then((b) => saveBlob(b, attachment.name))}
        >
          {t("files.download", { name: attachment.name })}
        </button>
      </div>
    </Dialog>
  );
}
