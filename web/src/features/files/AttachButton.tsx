import { useRef } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import { Icon } from "../../ui/Icon";

/** The composer's "attach a file" button (a hidden file input behind it). */
export function AttachButton({ roomId, threadId = null }: { roomId: string; threadId?: string | null }) {
  const { t } = useTranslation();
  const { files } = useSession().e2ee;
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className="icon-button" aria-label={t("files.attach")} onClick={() => input.current?.click()}>
        <Icon name="paperclip" />
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        aria-label={t("files.chooseFiles")}
        data-testid="file-input"
        onChange={(e) => {
          const chosen = [...(e.target.files ?? [])];
          e.target.value = "";
          if (chosen.length) void files.sendFiles(roomId, chosen, threadId);
        }}
      />
    </>
  );
}
