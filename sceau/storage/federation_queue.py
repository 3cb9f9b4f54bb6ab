"""The outbound federation queue: items per destination and each destination's retry state.

Items are written in the transaction that makes them (an event's persist
transaction, an EDU's write), so what was acknowledged locally is sent even
after a restart; they are deleted only once the destination has accepted them.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sceau.storage.database import Database, Transaction, in_clause


@dataclass(frozen=True)
class QueuedItem:
    item_id: int
    kind: str
    body: str


@dataclass(frozen=True)
class DestinationState:
    destination: str
    failures: int
    retry_interval_ms: int
    retry_at_ts: int
    txn_counter: int


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, txn: Transaction, items: Iterable[tuple[str, str, str, int]]) -> None:
        """Queue (destination, kind, body, queued_ts) rows, in order.

        The database numbers them (a sequence on PostgreSQL, shared by every
        process; AUTOINCREMENT on SQLite), so two processes queueing at once
        never collide and each destination gets its items in the order queued.
        """
        await txn.executemany(
            "INSERT INTO federation_outbox (destination, kind, body, queued_ts) VALUES (?, ?, ?, ?)",
            list(items),
        )

    async def pending(self, destination: str, kind: str, limit: int) -> list[QueuedItem]:
        rows = await self._db.fetchall(
            "SELECT item_id, kind, body FROM federation_outbox"
            " WHERE destination = ? AND kind = ? ORDER BY item_id LIMIT ?",
            destination,
            kind,
            limit,
        )
        return [QueuedItem(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def destinations(self) -> list[str]:
        """Every destination with something waiting."""
        rows = await self._db.fetchall("SELECT DISTINCT destination FROM federation_outbox")
        return [str(r[0]) for r in rows]

    async def count_all(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM federation_outbox") or 0)

    async def count(self, destination: str) -> int:
        return int(
            await self._db.fetchval(
                "SELECT COUNT(*) FROM federation_outbox WHERE destination = ?", destination
            )
        )

    async def delete(self, item_ids: list[int]) -> None:
        async with self._db.transaction() as txn:
            for start in range(0, len(item_ids), 500):
                chunk = item_ids[start : start + 500]
                await txn.execute(
                    f"DELETE FROM federation_outbox WHERE item_id IN {in_clause(len(chunk))}",
                    *chunk,
                )

    async def state(self, destination: str) -> DestinationState | None:
        row = await self._db.fetchone(
            "SELECT destination, failures, retry_interval_ms, retry_at_ts, txn_counter"
            " FROM federation_destinations WHERE destination = ?",
            destination,
        )
        if row is None:
            return None
        return DestinationState(str(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))

    async def set_state(self, state: DestinationState) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "INSERT INTO federation_destinations"
                " (destination, failures, retry_interval_ms, retry_at_ts, txn_counter)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (destination) DO UPDATE SET"
                " failures = excluded.failures, retry_interval_ms = excluded.retry_interval_ms,"
                " retry_at_ts = excluded.retry_at_ts, txn_counter = excluded.txn_counter",
                state.destination,
                state.failures,
                state.retry_interval_ms,
                state.retry_at_ts,
                state.txn_counter,
            )


async def joined_members(txn: Transaction, room_id: str) -> list[str]:
    """The room's joined members as this transaction sees them (events being persisted included)."""
    rows = await txn.fetchall(
        "SELECT state_key FROM current_state"
        " WHERE room_id = ? AND type = 'm.room.member' AND membership = 'join'",
        room_id,
    )
    return [str(row[0]) for row in rows]
