import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { useStore } from "../../ui/useStore";
import { formatBytes, uploadPercent, type UploadItem } from "../../matrix/mediaUpload";
import "./files.css";

function UploadRow({ item }: { item: UploadItem }) {
  const { t, i18n } = useTranslation();
  const { files } = useSession().e2ee;
  const percent = uploadPercent(item);
  if (item.phase === "failed") {
    const reason =
      item.error === "too_large"
        ? t("files.error.too_large", { limit: formatBytes(item.limit ?? 0, i18n.language) })
        : t(`files.error.${item.error ?? "unknown"}`);
    return (
      <li className={`upload upload-failed upload-failed-${item.error ?? "unknown"}`}>
        <span className="upload-alert" role="alert">
          <span className="upload-name">{item.name}</span> <span className="upload-error">{reason}</span>
        </span>
        <button type="button" className="button button-small" onClick={() => files.dismiss(item.id)}>
          {t("files.dismiss", { name: item.name })}
        </button>
      </li>
    );
  }
  return (
    <li className="upload">
      <span className="upload-name">{item.name}</span>
      <span className="hint">
        {item.phase === "encrypting"
          ? t("files.encrypting")
          : item.phase === "sending"
            ? t("files.sending")
            : `${formatBytes(item.loaded, i18n.language)} / ${formatBytes(item.size, i18n.language)}`}
      </span>
      <progress
        className="upload-progress"
        max={100}
        value={item.phase === "encrypting" ? undefined : percent}
        aria-label={t("files.progress", { name: item.name })}
      />
      {item.phase !== "sending" && (
        <button type="button" className="button button-small" onClick={() => files.cancel(item.id)}>
          {t("files.cancel", { name: item.name })}
        </button>
      )}
    </li>
  );
}

/** Uploads of this room in progress (with a progress bar) and those refused. */
export function UploadList({ roomId }: { roomId: string }) {
  const { t } = useTranslation();
  const { files } = useSession().e2ee;
  const uploads = useStore(files.uploads).filter((u) => u.roomId === roomId);
  if (uploads.length === 0) return null;
  return (
    <ul className="uploads" aria-label={t("files.uploads")}>
      {uploads.map((item) => (
        <UploadRow key={item.id} item={item} />
      ))}
    </ul>
  );
}

/** The hint shown over the room while files are dragged over it. */
export function DropHint() {
  const { t } = useTranslation();
  return (
    <div className="drop-hint" aria-hidden="true">
      {t("files.dropHere")}
    </div>
  );
}
