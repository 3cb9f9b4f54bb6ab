import { useTranslation } from "react-i18next";
import type { RoomViewModel } from "../../matrix/roomView";
import { useStore } from "../../ui/useStore";

/** "Alice écrit…" under the timeline, announced politely. */
export function TypingIndicator({ vm }: { vm: RoomViewModel }) {
  const { t } = useTranslation();
  const typing = useStore(vm.typing);
  let text = "";
  if (typing.length === 1) text = t("typing.one", { name: typing[0]!.name });
  else if (typing.length === 2) text = t("typing.two", { first: typing[0]!.name, second: typing[1]!.name });
  else if (typing.length > 2) text = t("typing.many", { count: typing.length });
  return (
    <div className="typing-indicator" aria-live="polite">
      {text}
    </div>
  );
}
