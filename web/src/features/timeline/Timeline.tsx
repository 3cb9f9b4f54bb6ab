import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Virtuoso, type VirtuosoHandle } from "react-virtuoso";
import type { RoomViewModel } from "../../matrix/roomView";
import { buildTimelineItems, firstUnreadIndex, type TimelineEvent, type TimelineItem } from "../../matrix/timeline";
import { Icon } from "../../ui/Icon";
import { useStore } from "../../ui/useStore";
import { DateSeparator, EventTile, StateGroup } from "./EventTile";

interface Props {
  vm: RoomViewModel;
  onReply: (event: TimelineEvent) => void;
  onEdit: (event: TimelineEvent) => void;
  onOpenThread?: (threadId: string) => void;
}

/**
 * Virtuoso's firstItemIndex: lowered by the number of rows prepended, so
 * loading older messages keeps what the user is reading in place.
 */
export class ItemIndexer {
  private anchorKey: string | null = null;
  private anchorIndex = 0;
  private last = 1_000_000;

  indexFor(items: readonly TimelineItem[]): number {
    const position = this.anchorKey === null ? -1 : items.findIndex((i) => i.key === this.anchorKey);
    if (position === -1) {
      const first = items.findIndex((i) => i.type === "event");
      if (first === -1) return this.last;
      this.anchorKey = items[first]!.key;
      this.anchorIndex = this.last + first;
      return this.last;
    }
    this.last = this.anchorIndex - position;
    return this.last;
  }
}

/** The virtualised message list: scroll back for history, follow new messages. */
export function Timeline({ vm, onReply, onEdit, onOpenThread }: Props) {
  const { t } = useTranslation();
  const events = useStore(vm.events);
  const pagination = useStore(vm.pagination);
  const info = useStore(vm.info);
  const marker = useStore(vm.readMarker);
  const items = useMemo(() => buildTimelineItems(events, marker.eventId), [events, marker.eventId]);
  const [indexer] = useState(() => new ItemIndexer());
  const firstItemIndex = useMemo(() => indexer.indexFor(items), [indexer, items]);
  const virtuoso = useRef<VirtuosoHandle>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [unreadSeen, setUnreadSeen] = useState(false);
  const unreadIndex = firstUnreadIndex(items);
  const lastIsMine = events.length > 0 && events[events.length - 1]!.mine;

  // Read receipts while the newest message is on screen and the tab is visible.
  useEffect(() => {
    if (atBottom && !document.hidden) vm.markRead();
  }, [atBottom, events, vm]);
  useEffect(() => {
    const onVisible = () => {
      if (!document.hidden && atBottom) vm.markRead();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [atBottom, vm]);

  const loadOlder = useCallback(() => {
    if (!pagination.loading && !pagination.atStart) void vm.paginateBack();
  }, [vm, pagination]);

  // A short room does not fill the screen: keep loading until it does or the start is reached.
  useEffect(() => {
    if (items.length < 15 && !pagination.loading && !pagination.atStart) void vm.paginateBack();
  }, [items.length, pagination, vm]);

  const jumpToUnread = useCallback(async () => {
    if (!vm.readUpTo) return;
    await vm.loadUntil(vm.readUpTo);
    setUnreadSeen(true);
    requestAnimationFrame(() => {
      const index = firstUnreadIndex(buildTimelineItems(vm.events.get(), vm.readMarker.get().eventId));
      if (index >= 0) virtuoso.current?.scrollToIndex({ index, align: "start", behavior: "auto" });
    });
  }, [vm]);

  const [range, setRange] = useState<{ startIndex: number; endIndex: number } | null>(null);
  const markerIndex = unreadIndex >= 0 ? firstItemIndex + unreadIndex : null;
  const markerVisible = markerIndex !== null && range !== null && markerIndex >= range.startIndex && markerIndex <= range.endIndex;
  useEffect(() => {
    if (markerVisible) setUnreadSeen(true);
  }, [markerVisible]);
  const showJump = !unreadSeen && vm.readUpTo !== null && (unreadIndex >= 0 ? !markerVisible : !marker.loaded);

  return (
    <div className="timeline">
      {showJump && (
        <button type="button" className="jump-unread" onClick={() => void jumpToUnread()}>
          {t("timeline.jumpToUnread")}
        </button>
      )}
      <Virtuoso
        ref={virtuoso}
        className="timeline-scroller"
        data={items}
        firstItemIndex={firstItemIndex}
        initialTopMostItemIndex={Math.max(0, items.length - 1)}
        computeItemKey={(_, item) => item.key}
        startReached={loadOlder}
        followOutput={(bottom) => (bottom || lastIsMine ? "auto" : false)}
        atBottomStateChange={setAtBottom}
        rangeChanged={setRange}
        atBottomThreshold={80}
        increaseViewportBy={{ top: 600, bottom: 300 }}
        role="log"
        aria-label={t("timeline.label", { room: info.name })}
        aria-live="off"
        components={{
          Header: () => (
            <div className="timeline-start">
              {pagination.atStart ? (
                vm.threadId ? null : <p>{t("timeline.start")}</p>
              ) : pagination.loading ? (
                <p role="status">
                  <span className="spinner spinner-small" aria-hidden="true" /> {t("timeline.loadingOlder")}
                </p>
              ) : null}
            </div>
          ),
        }}
        itemContent={(_, item) =>
          item.type === "date" ? (
            <DateSeparator ts={item.ts} />
          ) : item.type === "stateGroup" ? (
            <StateGroup events={item.events} />
          ) : item.type === "unread" ? (
            <div className="unread-marker" role="separator" aria-label={t("timeline.newMessages")}>
              <span>{t("timeline.newMessages")}</span>
            </div>
          ) : (
            <EventTile
              vm={vm}
              event={item.event}
              continuation={item.continuation}
              canRedactOthers={info.can.redactOthers}
              onReply={onReply}
              onEdit={onEdit}
              onOpenThread={onOpenThread}
            />
          )
        }
      />
      {!atBottom && (
        <button
          type="button"
          className="jump-bottom icon-button"
          aria-label={t("timeline.jumpToLatest")}
          title={t("timeline.jumpToLatest")}
          onClick={() => virtuoso.current?.scrollToIndex({ index: "LAST", behavior: "auto" })}
        >
          <Icon name="down" />
        </button>
      )}
    </div>
  );
}
