"""The notification list (GET /notifications): unread notifications and read ones.

Unread notifications are the rows of ``event_push_actions``; the unread
counts are sums over them, cached by :mod:`sceau.storage.unread_cache`, and
only :class:`~sceau.storage.push.PushStore` and
:class:`~sceau.storage.receipts.ReceiptStore` write that table. When a read
receipt clears rows, the receipt store first copies them here
(:func:`archive_read`) in the same transaction, into ``notification_history``,
which no count ever reads. So a notification is read exactly when it no
longer counts as unread, threads included.

The history is trimmed, per user, whenever it grows: rows older than
:data:`HISTORY_MAX_AGE_MS` go, and only the newest
:data:`HISTORY_MAX_PER_USER` stay. A redaction removes its target from both
tables (Synapse drops a redacted event's notifications too); leaving a room
drops its unread rows (as the counts always did) but keeps the read ones.
"""

from dataclasses import dataclass
from typing import Any

import orjson

from sceau.storage.database import Database, Transaction
from sceau.storage.events import EVENT_COLUMNS, StoredEvent, row_to_event

HISTORY_MAX_AGE_MS = 30 * 24 * 3600 * 1000
HISTORY_MAX_PER_USER = 500

#: What most notifications ask for (a message in a group room): stored as NULL.
_PLAIN_NOTIFY: list[Any] = ["notify"]
_EVENT_COLUMNS = ", ".join("e." + column for column in EVENT_COLUMNS.split(", "))


def encode_actions(actions: list[Any] | None) -> str | None:
    """The stored form of a notification's actions (NULL for plain ``["notify"]``)."""
    if actions is None or actions == _PLAIN_NOTIFY:
        return None
    return orjson.dumps(actions).decode()


def decode_actions(raw: str | None, highlight: bool) -> list[Any]:
    """Stored actions back as a list.

    NULL is ``["notify"]``; on a highlighted row it can only come from before
    actions were stored, so the highlight tweak is put back.
    """
    if raw is not None:
        decoded = orjson.loads(raw)
        if isinstance(decoded, list):
            return decoded
    if highlight:
        return ["notify", {"set_tweak": "highlight"}]
    return list(_PLAIN_NOTIFY)


@dataclass(frozen=True)
class Notification:
    event: StoredEvent
    actions: list[Any]
    #: When the notification was made (the event's own time for old rows).
    ts: int
    read: bool


async def archive_read(
    txn: Transaction,
    user_id: str,
    room_id: str,
    thread_id: str,
    upto_pos: int,
    now_ms: int | None,
) -> bool:
    """Copy the unread rows a receipt is about to clear into the history.

    Covers the rows up to ``upto_pos`` in one thread, or in all when
    ``thread_id`` is ''. Returns False when there are none (nothing to clear).
    """
    sql = (
        "SELECT n.stream_pos, n.highlight, n.actions_json, COALESCE(n.ts, e.origin_server_ts)"
        " FROM event_push_actions n JOIN events e ON e.stream_pos = n.stream_pos"
        " WHERE n.user_id = ? AND n.room_id = ? AND n.stream_pos <= ?"
    )
    params: list[Any] = [user_id, room_id, upto_pos]
    if thread_id:
        sql += " AND n.thread_id = ?"
        params.append(thread_id)
    rows = await txn.fetchall(sql, *params)
    if not rows:
        return False
    await txn.executemany(
        "INSERT INTO notification_history"
        " (user_id, stream_pos, room_id, highlight, actions_json, ts) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id, stream_pos) DO NOTHING",
        [(user_id, row[0], room_id, row[1], row[2], row[3]) for row in rows],
    )
    await _trim(txn, user_id, now_ms)
    return True


async def _trim(txn: Transaction, user_id: str, now_ms: int | None) -> None:
    """Keep the user's newest rows, and none older than the age limit."""
    cutoff = -(2**62) if now_ms is None else now_ms - HISTORY_MAX_AGE_MS
    await txn.execute(
        "DELETE FROM notification_history WHERE user_id = ? AND (ts < ? OR stream_pos <="
        " COALESCE((SELECT stream_pos FROM notification_history WHERE user_id = ?"
        " ORDER BY stream_pos DESC LIMIT 1 OFFSET ?), -1))",
        user_id,
        cutoff,
        user_id,
        HISTORY_MAX_PER_USER,
    )


async def forget_event(txn: Transaction, room_id: str, event_id: str) -> None:
    """A redacted event leaves everyone's notification history."""
    await txn.execute(
        "DELETE FROM notification_history WHERE stream_pos ="
        " (SELECT stream_pos FROM events WHERE event_id = ? AND room_id = ?)",
        event_id,
        room_id,
    )


class NotificationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(
        self, user_id: str, before: int | None, limit: int, only_highlight: bool
    ) -> list[Notification]:
        """The user's notifications below stream position ``before``, newest first."""
        unread = await self._rows(
            "event_push_actions", False, user_id, before, limit, only_highlight
        )
        read = await self._rows(
            "notification_history", True, user_id, before, limit, only_highlight
        )
        merged = sorted(unread + read, key=lambda n: n.event.stream_pos, reverse=True)
        return merged[:limit]

    async def _rows(
        self,
        table: str,
        read: bool,
        user_id: str,
        before: int | None,
        limit: int,
        only_highlight: bool,
    ) -> list[Notification]:
        sql = (
            f"SELECT {_EVENT_COLUMNS}, n.actions_json, n.highlight, COALESCE(n.ts,"
            f" e.origin_server_ts) FROM {table} n JOIN events e ON e.stream_pos = n.stream_pos"
            " WHERE n.user_id = ? AND e.redacted_by IS NULL"
        )
        params: list[Any] = [user_id]
        if before is not None:
            sql += " AND n.stream_pos < ?"
            params.append(before)
        if only_highlight:
            sql += " AND n.highlight = 1"
        rows = await self._db.fetchall(sql + " ORDER BY n.stream_pos DESC LIMIT ?", *params, limit)
        width = len(EVENT_COLUMNS.split(", "))  # the notification's columns follow the event's
        return [
            Notification(
                event=row_to_event(row),
                actions=decode_actions(row[width], bool(row[width + 1])),
                ts=int(row[width + 2]),
                read=read,
            )
            for row in rows
        ]

    async def forget_user(self, user_id: str) -> None:
        """A deactivated account keeps no notification history."""
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM notification_history WHERE user_id = ?", user_id)
