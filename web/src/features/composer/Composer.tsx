import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import type { Mention } from "../../matrix/markdown";
import type { RoomViewModel } from "../../matrix/roomView";
import type { Person, TimelineEvent } from "../../matrix/timeline";
import { AttachButton } from "../files/AttachButton";
import { Avatar } from "../../ui/Avatar";
import { Icon } from "../../ui/Icon";
import { useStore } from "../../ui/useStore";
import { insertMention, matchMembers, mentionQuery } from "./mentions";

export type ComposerMode = null | { kind: "reply"; event: TimelineEvent } | { kind: "edit"; event: TimelineEvent };

interface Props {
  vm: RoomViewModel;
  mode: ComposerMode;
  onModeChange: (mode: ComposerMode) => void;
  placeholder?: string;
}

/** Message input: Enter sends, Shift+Enter adds a line, @ suggests members. */
export function Composer({ vm, mode, onModeChange, placeholder }: Props) {
  const { t } = useTranslation();
  const info = useStore(vm.info);
  const [text, setText] = useState("");
  const [mentions, setMentions] = useState<Mention[]>([]);
  const [members, setMembers] = useState<Person[]>([]);
  const [suggest, setSuggest] = useState<{ start: number; caret: number; items: Person[]; active: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    void vm.members().then(setMembers);
  }, [vm]);

  useEffect(() => {
    if (mode?.kind === "edit") setText(mode.event.body);
    if (mode) input.current?.focus();
  }, [mode]);

  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  }, [text]);

  if (info.membership !== "join") {
    return <p className="composer-disabled">{t("composer.notJoined")}</p>;
  }

  async function send() {
    const value = text.trim();
    if (!value) return;
    setText("");
    setSuggest(null);
    const current = mode;
    onModeChange(null);
    setError(null);
    const isEdit = current?.kind === "edit" && current.event.eventId !== null;
    try {
      if (isEdit) await vm.edit(current.event.eventId!, value, mentions);
      else await vm.send(value, { replyTo: current?.kind === "reply" ? current.event.eventId : null, mentions });
      setMentions([]);
    } catch {
      // A message that fails stays in the timeline as "failed" with a retry
      // button; an edit has no tile of its own, so it is reported here.
      if (isEdit) setError(t("composer.sendError"));
    }
  }

  function onChange(value: string, caret: number) {
    setText(value);
    vm.setTyping(value.length > 0);
    const query = mentionQuery(value, caret);
    const items = query ? matchMembers(members, query.query) : [];
    setSuggest(query && items.length > 0 ? { start: query.start, caret, items, active: 0 } : null);
  }

  function pick(person: Person) {
    if (!suggest) return;
    const next = insertMention(text, suggest.start, suggest.caret, person.name);
    setText(next.text);
    setMentions((m) => [...m.filter((x) => x.userId !== person.userId), { userId: person.userId, name: person.name }]);
    setSuggest(null);
    requestAnimationFrame(() => input.current?.setSelectionRange(next.caret, next.caret));
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (suggest) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const delta = e.key === "ArrowDown" ? 1 : -1;
        setSuggest({ ...suggest, active: (suggest.active + delta + suggest.items.length) % suggest.items.length });
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        pick(suggest.items[suggest.active]!);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setSuggest(null);
        return;
      }
    }
    if (e.key === "ArrowUp" && !text && !mode) {
      // As in Element: Up in an empty composer edits my last message.
      const events = vm.events.get();
      for (let i = events.length - 1; i >= 0; i--) {
        const ev = events[i]!;
        if (ev.mine && ev.eventId && ["message", "emote", "notice"].includes(ev.kind)) {
          e.preventDefault();
          onModeChange({ kind: "edit", event: ev });
          return;
        }
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    } else if (e.key === "Escape" && mode) {
      e.preventDefault();
      onModeChange(null);
      if (mode.kind === "edit") setText("");
    }
  }

  const label = mode?.kind === "edit" ? t("composer.editLabel") : (placeholder ?? t("composer.placeholder", { room: info.name }));
  return (
    <div className="composer">
      {mode && (
        <div className="composer-mode">
          <span>
            {mode.kind === "reply" ? t("composer.replyingTo", { name: mode.event.sender.name }) : t("composer.editing")}
            <span className="composer-mode-body"> {mode.event.body}</span>
          </span>
          <button
            type="button"
            className="icon-button"
            aria-label={t("composer.cancelMode")}
            onClick={() => {
              onModeChange(null);
              if (mode.kind === "edit") setText("");
            }}
          >
            <Icon name="close" size={16} />
          </button>
        </div>
      )}
      {suggest && (
        <ul className="mention-suggestions" role="listbox" id="mention-list" aria-label={t("composer.mentionSuggestions")}>
          {suggest.items.map((p, i) => (
            <li
              key={p.userId}
              id={`mention-${i}`}
              role="option"
              aria-selected={i === suggest.active}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(p);
              }}
            >
              <Avatar id={p.userId} name={p.name} mxc={p.avatarMxc} size={24} /> {p.name}
              <span className="hint"> {p.userId}</span>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="composer-row">
        <AttachButton roomId={info.roomId} threadId={vm.threadId} />
        <textarea
          ref={input}
          className="composer-input"
          rows={1}
          value={text}
          placeholder={label}
          aria-label={label}
          aria-autocomplete="list"
          aria-controls={suggest ? "mention-list" : undefined}
          aria-activedescendant={suggest ? `mention-${suggest.active}` : undefined}
          onChange={(e) => onChange(e.target.value, e.target.selectionStart)}
          onKeyDown={onKeyDown}
          onBlur={() => vm.setTyping(false)}
        />
        <button type="button" className="icon-button send-button" aria-label={t("composer.send")} onClick={() => void send()} disabled={!text.trim()}>
          <Icon name="send" />
        </button>
      </div>
    </div>
  );
}
