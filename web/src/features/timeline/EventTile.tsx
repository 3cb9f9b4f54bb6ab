import { memo, useState } from "react";
import { useTranslation } from "react-i18next";
import { AttachmentView } from "../files/AttachmentView";
import { VerificationRequestNotice } from "../verification/VerificationRequestNotice";
import { UndecryptableMessage } from "../verification/UndecryptableMessage";
import type { RoomViewModel } from "../../matrix/roomView";
import type { TimelineEvent } from "../../matrix/timeline";
import { Avatar } from "../../ui/Avatar";
import { formatDay, formatTime } from "../../ui/format";
import { Icon } from "../../ui/Icon";
import type { CallSummary } from "../../matrix/callHistory";
import { CallTile } from "../calls/CallTile";
import { ExternalBadge } from "../policy/ExternalBadge";
import { describeState } from "./describe";

export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢", "✅"];

export function DateSeparator({ ts }: { ts: number }) {
  const { t, i18n } = useTranslation();
  const day = formatDay(ts, i18n.language);
  const text = day.kind === "today" ? t("timeline.today") : day.kind === "yesterday" ? t("timeline.yesterday") : day.text;
  return (
    <div className="date-separator" role="separator" aria-label={text}>
      <span>{text}</span>
    </div>
  );
}

/** Several state changes in a row: one line that opens to list them. */
export function StateGroup({ events }: { events: TimelineEvent[] }) {
  const { t } = useTranslation();
  const first = describeState(events[0]!);
  return (
    <details className="event-state state-group">
      <summary>{t("timeline.stateGroup", { first: t(first.key, first.vars), count: events.length - 1 })}</summary>
      <ul>
        {events.map((e) => {
          const { key, vars } = describeState(e);
          return <li key={e.id}>{t(key, vars)}</li>;
        })}
      </ul>
    </details>
  );
}

interface Props {
  vm: RoomViewModel;
  event: TimelineEvent;
  continuation: boolean;
  canRedactOthers: boolean;
  onReply: (event: TimelineEvent) => void;
  onEdit: (event: TimelineEvent) => void;
  onOpenThread?: (threadId: string) => void;
}

function Body({ event }: { event: TimelineEvent }) {
  const { t } = useTranslation();
  if (event.content.msgtype === "m.key.verification.request") {
    return <VerificationRequestNotice senderName={event.sender.name} mine={event.mine} />;
  }
  switch (event.kind) {
    case "redacted":
      return <p className="event-body event-muted">{t("timeline.redacted")}</p>;
    case "undecryptable":
      return (
        <div className="event-body">
          <UndecryptableMessage code={event.decryptionError} />
        </div>
      );
    case "image":
    case "file":
      return (
        <div className="event-body">
          <AttachmentView content={event.content} eventType={String(event.content.type ?? "m.room.message")} />
        </div>
      );
    default:
      break;
  }
  const emote = event.kind === "emote" ? `* ${event.sender.name} ` : "";
  return (
    <div className={`event-body${event.kind === "notice" ? " event-notice" : ""}`}>
      {event.html ? (
        <div className="event-html">
          {emote}
          {/* sanitised by DOMPurify in matrix/markdown.ts */}
          <span dangerouslySetInnerHTML={{ __html: event.html }} />
          {event.edited && <span className="edited-mark">{t("timeline.edited")}</span>}
        </div>
      ) : (
        <p className="event-text">
          {emote}
          {event.body}
          {event.edited && <span className="edited-mark">{t("timeline.edited")}</span>}
        </p>
      )}
    </div>
  );
}

/** One message, or one line for a state change. */
export const EventTile = memo(function EventTile({ vm, event, continuation, canRedactOthers, onReply, onEdit, onOpenThread }: Props) {
  const { t, i18n } = useTranslation();
  const [picker, setPicker] = useState(false);
  if (event.kind === "call") {
    const summary = event.content.call as CallSummary | null | undefined;
    return summary ? <CallTile summary={summary} /> : null;
  }
  if (event.kind === "membership" || event.kind === "state") {
    const { key, vars } = describeState(event);
    return (
      <div className="event-state">
        <span>{t(key, vars)}</span>
      </div>
    );
  }
  const time = formatTime(event.ts, i18n.language);
  const sent = event.sendState === "sent" && event.eventId !== null;
  const canEdit = sent && event.mine && ["message", "emote", "notice"].includes(event.kind);
  const canDelete = sent && event.kind !== "redacted" && (event.mine || canRedactOthers);
  const canReact = sent && event.kind !== "redacted";
  return (
    <article
      className={`event${continuation ? " event-continuation" : ""}${event.mentionsMe ? " event-mention" : ""}${event.sendState !== "sent" ? ` event-${event.sendState}` : ""}`}
      aria-label={t(event.sender.external ? "timeline.messageFromExternal" : "timeline.messageFrom", { name: event.sender.name, time })}
    >
      <div className="event-gutter">
        {continuation ? (
          <span className="event-time-hover">{time}</span>
        ) : (
          <Avatar id={event.sender.userId} name={event.sender.name} mxc={event.sender.avatarMxc} size={36} />
        )}
      </div>
      <div className="event-main">
        {!continuation && (
          <div className="event-header">
            <span className="event-sender">{event.sender.name}</span>
            {event.sender.external && <ExternalBadge />}
            <time className="event-time" dateTime={new Date(event.ts).toISOString()}>
              {time}
            </time>
          </div>
        )}
        {event.replyTo && (
          <blockquote className="reply-quote">
            <span className="reply-sender">{event.replyTo.senderName || t("timeline.replyUnknown")}</span>
            <span className="reply-body">{event.replyTo.body || t("timeline.replyUnavailable")}</span>
          </blockquote>
        )}
        <Body event={event} />
        {event.reactions.length > 0 && (
          <div className="reactions" role="group" aria-label={t("timeline.reactions")}>
            {event.reactions.map((r) => (
              <button
                key={r.key}
                type="button"
                className={`reaction${r.myEventId ? " reaction-mine" : ""}`}
                aria-pressed={r.myEventId !== null}
                aria-label={t("timeline.reactionLabel", { key: r.key, count: r.count, names: r.senders.join(", ") })}
                title={r.senders.join(", ")}
                onClick={() => event.eventId && void vm.toggleReaction(event.eventId, r.key, r.myEventId)}
              >
                <span aria-hidden="true">{r.key}</span> <span aria-hidden="true">{r.count}</span>
              </button>
            ))}
          </div>
        )}
        {event.thread && event.eventId && onOpenThread && (
          <button type="button" className="thread-summary" onClick={() => onOpenThread(event.eventId!)}>
            <Icon name="thread" size={14} /> {t("thread.replies", { count: event.thread.count })}
            {event.thread.latestBody && <span className="thread-latest"> · {event.thread.latestBody}</span>}
          </button>
        )}
        {event.sendState === "sending" && <span className="send-state">{t("timeline.sending")}</span>}
        {event.sendState === "failed" && (
          <div className="send-state send-failed" role="alert">
            {t("timeline.failed")}{" "}
            <button type="button" className="button-link" onClick={() => void vm.retry(event.id)}>
              {t("timeline.retry")}
            </button>{" "}
            <button type="button" className="button-link" onClick={() => vm.cancel(event.id)}>
              {t("timeline.cancelSend")}
            </button>
          </div>
        )}
        {event.readBy.length > 0 && (
          <div className="read-receipts" aria-label={t("timeline.readBy", { names: event.readBy.map((p) => p.name).join(", ") })} role="img">
            {event.readBy.slice(0, 4).map((p) => (
              <Avatar key={p.userId} id={p.userId} name={p.name} mxc={p.avatarMxc} size={16} />
            ))}
            {event.readBy.length > 4 && <span className="receipt-more">+{event.readBy.length - 4}</span>}
          </div>
        )}
      </div>
      {sent && event.kind !== "redacted" && (
        <div className="event-actions" role="toolbar" aria-label={t("timeline.actions")}>
          {canReact && (
            <button type="button" className="icon-button" aria-label={t("timeline.react")} aria-expanded={picker} onClick={() => setPicker(!picker)}>
              <Icon name="smile" size={18} />
            </button>
          )}
          <button type="button" className="icon-button" aria-label={t("timeline.reply")} onClick={() => onReply(event)}>
            <Icon name="reply" size={18} />
          </button>
          {onOpenThread && event.eventId && (
            <button type="button" className="icon-button" aria-label={t("thread.open")} onClick={() => onOpenThread(event.eventId!)}>
              <Icon name="thread" size={18} />
            </button>
          )}
          {canEdit && (
            <button type="button" className="icon-button" aria-label={t("timeline.edit")} onClick={() => onEdit(event)}>
              <Icon name="edit" size={18} />
            </button>
          )}
          {canDelete && (
            <button
              type="button"
              className="icon-button"
              aria-label={t("timeline.delete")}
              onClick={() => {
                if (window.confirm(t("timeline.deleteConfirm"))) void vm.redact(event.eventId!);
              }}
            >
              <Icon name="trash" size={18} />
            </button>
          )}
          {picker && (
            <div
              className="reaction-picker"
              role="group"
              aria-label={t("timeline.pickReaction")}
              onKeyDown={(e) => {
                if (e.key === "Escape") setPicker(false);
              }}
            >
              {QUICK_REACTIONS.map((key) => (
                <button
                  key={key}
                  type="button"
                  className="reaction-choice"
                  aria-label={t("timeline.reactWith", { key })}
                  onClick={() => {
                    setPicker(false);
                    const mine = event.reactions.find((r) => r.key === key)?.myEventId ?? null;
                    void vm.toggleReaction(event.eventId!, key, mine);
                  }}
                >
                  {key}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
    </article>
  );
});
