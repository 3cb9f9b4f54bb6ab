"""To-device inboxes: messages waiting for one device until its sync acknowledges them."""

import orjson

from sceau.protocol.types import JsonDict
from sceau.storage.database import Database, Transaction


class ToDeviceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim_txn(
        self,
        txn: Transaction,
        user_id: str,
        device_id: str,
        event_type: str,
        txn_id: str,
        now_ms: int,
    ) -> bool:
        """Record a sender's transaction ID for this event type; False if it was already used.

        The event type is part of the request's path, so it is part of the
        key. One INSERT decides, so two concurrent retries cannot both send.
        A row from before migration 099 has no type ('') and holds for every
        type until it expires.
        """
        row = await txn.fetchone(
            "INSERT INTO to_device_txns (user_id, device_id, txn_id, event_type, created_ts)"
            " SELECT ?, ?, ?, ?, CAST(? AS BIGINT) WHERE NOT EXISTS ("
            "  SELECT 1 FROM to_device_txns WHERE user_id = ? AND device_id = ?"
            "  AND txn_id = ? AND event_type = '')"
            " ON CONFLICT (user_id, device_id, txn_id, event_type) DO NOTHING"
            " RETURNING txn_id",
            user_id,
            device_id,
            txn_id,
            event_type,
            now_ms,
            user_id,
            device_id,
            txn_id,
        )
        return row is not None

    async def forget_txns_before(self, txn: Transaction, cutoff_ms: int) -> None:
        await txn.execute("DELETE FROM to_device_txns WHERE created_ts < ?", cutoff_ms)

    async def add_messages(
        self, txn: Transaction, stream_pos: int, messages: list[tuple[str, str, JsonDict]]
    ) -> None:
        """Queue ``(user_id, device_id, event)`` at one stream position."""
        await txn.executemany(
            "INSERT INTO device_inbox (user_id, device_id, stream_pos, message_json)"
            " VALUES (?, ?, ?, ?)",
            [
                (user_id, device_id, stream_pos, orjson.dumps(event).decode())
                for user_id, device_id, event in messages
            ],
        )

    async def trim_inbox(self, txn: Transaction, user_id: str, device_id: str, keep: int) -> None:
        """Drop the oldest messages beyond the newest ``keep`` (a device that never syncs)."""
        await txn.execute(
            "DELETE FROM device_inbox WHERE user_id = ? AND device_id = ? AND stream_pos <= ("
            "SELECT stream_pos FROM device_inbox WHERE user_id = ? AND device_id = ?"
            " ORDER BY stream_pos DESC LIMIT 1 OFFSET ?)",
            user_id,
            device_id,
            user_id,
            device_id,
            keep,
        )

    async def messages(
        self, user_id: str, device_id: str, upto: int, limit: int
    ) -> list[tuple[int, JsonDict]]:
        """The oldest waiting messages at or below ``upto``, in order."""
        rows = await self._db.fetchall(
            "SELECT stream_pos, message_json FROM device_inbox"
            " WHERE user_id = ? AND device_id = ? AND stream_pos <= ?"
            " ORDER BY stream_pos LIMIT ?",
            user_id,
            device_id,
            upto,
            limit,
        )
        return [(int(row[0]), orjson.loads(row[1])) for row in rows]

    async def has_messages(self, user_id: str, device_id: str) -> bool:
        return bool(
            await self._db.fetchval(
                "SELECT 1 FROM device_inbox WHERE user_id = ? AND device_id = ? LIMIT 1",
                user_id,
                device_id,
            )
        )

    async def acknowledge(self, user_id: str, device_id: str, token_pos: int) -> None:
        """The device synced from ``token_pos``: delete what that token's sync delivered."""
        async with self._db.transaction() as txn:
            mark = await txn.fetchval(
                "SELECT delivered_pos FROM to_device_marks"
                " WHERE user_id = ? AND device_id = ? AND token_pos = ?",
                user_id,
                device_id,
                token_pos,
            )
            delivered = token_pos if mark is None else min(int(mark), token_pos)
            await txn.execute(
                "DELETE FROM device_inbox WHERE user_id = ? AND device_id = ? AND stream_pos <= ?",
                user_id,
                device_id,
                delivered,
            )
            await txn.execute(
                "DELETE FROM to_device_marks WHERE user_id = ? AND device_id = ? AND token_pos < ?",
                user_id,
                device_id,
                token_pos,
            )

    async def acknowledge_upto(self, user_id: str, device_id: str, delivered: int) -> None:
        """Delete messages at or below ``delivered`` (dehydrated-device paging)."""
        async with self._db.transaction() as txn:
            await txn.execute(
                "DELETE FROM device_inbox WHERE user_id = ? AND device_id = ? AND stream_pos <= ?",
                user_id,
                device_id,
                delivered,
            )

    async def clear_mark(self, user_id: str, device_id: str, token_pos: int) -> None:
        """A sync returning ``token_pos`` delivered everything at or below it."""
        async with self._db.transaction() as txn:
            await txn.execute(
                "DELETE FROM to_device_marks WHERE user_id = ? AND device_id = ? AND token_pos = ?",
                user_id,
                device_id,
                token_pos,
            )

    async def mark_partial(
        self, user_id: str, device_id: str, token_pos: int, delivered_pos: int
    ) -> None:
        """A sync returning ``token_pos`` delivered only messages up to ``delivered_pos``."""
        async with self._db.transaction() as txn:
            await txn.execute(
                "INSERT INTO to_device_marks (user_id, device_id, token_pos, delivered_pos)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id, token_pos)"
                " DO UPDATE SET delivered_pos = excluded.delivered_pos",
                user_id,
                device_id,
                token_pos,
                delivered_pos,
            )

    async def delete_inbox(self, txn: Transaction, user_id: str, device_id: str) -> None:
        await txn.execute(
            "DELETE FROM device_inbox WHERE user_id = ? AND device_id = ?", user_id, device_id
        )
        await txn.execute(
            "DELETE FROM to_device_marks WHERE user_id = ? AND device_id = ?", user_id, device_id
        )
