"""Read receipts and the unread-notification rows they clear.

One row per (room, receipt type, user, thread) holds the latest receipt; each
write takes a position in the shared stream so /sync can send what changed.
Cleared notifications move to the notification history (GET /notifications).
"""

from dataclasses import dataclass

from sceau.storage.database import Database, Transaction, in_clause
from sceau.storage.notifications import archive_read
from sceau.storage.unread_cache import UnreadCountCache


@dataclass(frozen=True)
class Receipt:
    room_id: str
    receipt_type: str
    user_id: str
    #: '' for an unthreaded receipt.
    thread_id: str
    event_id: str
    ts: int
    stream_pos: int


_COLUMNS = "room_id, receipt_type, user_id, thread_id, event_id, ts, stream_pos"


class ReceiptStore:
    def __init__(self, db: Database, unread: UnreadCountCache | None = None) -> None:
        self._db = db
        #: The push store's cache of counts, which clearing notifications changes.
        self._unread = unread if unread is not None else UnreadCountCache()

    async def event_position(self, room_id: str, event_id: str) -> int | None:
        """Stream position of an event in the room, or None if it is not there."""
        value = await self._db.fetchval(
            "SELECT stream_pos FROM events WHERE event_id = ? AND room_id = ?", event_id, room_id
        )
        return None if value is None else int(value)

    async def existing_event_position(
        self, txn: Transaction, room_id: str, receipt_type: str, user_id: str, thread_id: str
    ) -> int | None:
        value = await txn.fetchval(
            "SELECT event_stream_pos FROM receipts WHERE room_id = ? AND receipt_type = ?"
            " AND user_id = ? AND thread_id = ?",
            room_id,
            receipt_type,
            user_id,
            thread_id,
        )
        return None if value is None else int(value)

    async def upsert(self, txn: Transaction, receipt: Receipt, event_stream_pos: int) -> None:
        await txn.execute(
            f"INSERT INTO receipts ({_COLUMNS}, event_stream_pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE SET"
            " event_id = excluded.event_id, ts = excluded.ts, stream_pos = excluded.stream_pos,"
            " event_stream_pos = excluded.event_stream_pos",
            receipt.room_id,
            receipt.receipt_type,
            receipt.user_id,
            receipt.thread_id,
            receipt.event_id,
            receipt.ts,
            receipt.stream_pos,
            event_stream_pos,
        )

    async def for_rooms(self, room_ids: list[str], after: int | None, upto: int) -> list[Receipt]:
        """Receipts in these rooms written in (after, upto]; all of them when after is None."""
        found: list[Receipt] = []
        for start in range(0, len(room_ids), 500):
            chunk = room_ids[start : start + 500]
            sql = (
                f"SELECT {_COLUMNS} FROM receipts WHERE room_id IN {in_clause(len(chunk))}"
                " AND stream_pos <= ?"
            )
            params: list[object] = [*chunk, upto]
            if after is not None:
                sql += " AND stream_pos > ?"
                params.append(after)
            rows = await self._db.fetchall(sql + " ORDER BY stream_pos", *params)
            found.extend(
                Receipt(row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6]))
                for row in rows
            )
        return found

    async def clear_notifications(
        self,
        txn: Transaction,
        user_id: str,
        room_id: str,
        thread_id: str,
        upto_pos: int,
        now_ms: int | None = None,
    ) -> None:
        """Mark notifications up to ``upto_pos`` read (in one thread, or all when '').

        They leave the unread rows for the notification history.
        """
        self._unread.invalidate(txn, [(user_id, room_id)])
        if not await archive_read(txn, user_id, room_id, thread_id, upto_pos, now_ms):
            return
        sql = "DELETE FROM event_push_actions WHERE user_id = ? AND room_id = ? AND stream_pos <= ?"
        if thread_id:
            await txn.execute(sql + " AND thread_id = ?", user_id, room_id, upto_pos, thread_id)
        else:
            await txn.execute(sql, user_id, room_id, upto_pos)
