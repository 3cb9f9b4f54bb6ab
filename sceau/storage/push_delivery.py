"""What push delivery reads and records: HTTP pushers, their positions, pending notifications."""

from dataclasses import dataclass
from typing import Any

import orjson

from sceau.storage.database import Database, Transaction, in_clause


@dataclass(frozen=True)
class HttpPusher:
    user_id: str
    app_id: str
    pushkey: str
    data: dict[str, Any]
    created_ts: int
    last_stream_pos: int | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.user_id, self.app_id, self.pushkey)


@dataclass(frozen=True)
class PendingNotification:
    stream_pos: int
    room_id: str
    event_id: str
    highlight: bool
    actions_json: str | None


class PushDeliveryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def http_pushers(self, user_id: str | None = None) -> list[HttpPusher]:
        """Every HTTP pusher, or one user's."""
        return await self._pushers("http", user_id)

    async def email_pushers(self) -> list[HttpPusher]:
        """Every email pusher (its pushkey is the address)."""
        return await self._pushers("email", None)

    async def _pushers(self, kind: str, user_id: str | None) -> list[HttpPusher]:
        query = (
            "SELECT user_id, app_id, pushkey, pusher_json, created_ts, last_stream_pos"
            f" FROM pushers WHERE kind = '{kind}'"
        )
        rows = (
            await self._db.fetchall(query + " AND user_id = ?", user_id)
            if user_id is not None
            else await self._db.fetchall(query)
        )
        return [
            HttpPusher(
                r[0],
                r[1],
                r[2],
                orjson.loads(r[3])["data"],
                int(r[4]),
                None if r[5] is None else int(r[5]),
            )
            for r in rows
        ]

    async def set_position(self, pusher: HttpPusher, stream_pos: int) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "UPDATE pushers SET last_stream_pos = ?"
                " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
                stream_pos,
                pusher.user_id,
                pusher.app_id,
                pusher.pushkey,
            )

    async def set_positions(self, positions: list[tuple[HttpPusher, int]]) -> None:
        """Several pushers' positions in one transaction (push delivery's periodic flush)."""
        async with self._db.transaction() as txn:
            await txn.executemany(
                "UPDATE pushers SET last_stream_pos = ?"
                " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
                [(pos, p.user_id, p.app_id, p.pushkey) for p, pos in positions],
            )

    async def remove_one(self, pusher: HttpPusher) -> bool:
        """Delete this user's pusher (an unsubscribe link); False if it was gone already."""
        async with self._db.transaction() as txn:
            found = await txn.fetchval(
                "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?"
                " RETURNING pushkey",
                pusher.user_id,
                pusher.app_id,
                pusher.pushkey,
            )
        return found is not None

    async def remove(self, pusher: HttpPusher) -> None:
        """A pushkey the gateway rejected: the pusher goes (any user holding that key)."""
        async with self._db.transaction() as txn:
            await txn.execute(
                "DELETE FROM pushers WHERE app_id = ? AND pushkey = ?",
                pusher.app_id,
                pusher.pushkey,
            )

    async def pending(self, user_id: str, after: int, limit: int) -> list[PendingNotification]:
        """Unread notifications of the user after a position, oldest first."""
        rows = await self._db.fetchall(
            "SELECT a.stream_pos, a.room_id, e.event_id, a.highlight, a.actions_json"
            " FROM event_push_actions a JOIN events e ON e.stream_pos = a.stream_pos"
            " WHERE a.user_id = ? AND a.stream_pos > ? ORDER BY a.stream_pos LIMIT ?",
            user_id,
            after,
            limit,
        )
        return [PendingNotification(int(r[0]), r[1], r[2], bool(r[3]), r[4]) for r in rows]

    async def oldest_unread_ts(self, user_id: str, after: int) -> int | None:
        value = await self._db.fetchval(
            "SELECT MIN(ts) FROM event_push_actions WHERE user_id = ? AND stream_pos > ?",
            user_id,
            after,
        )
        return None if value is None else int(value)

    async def unread_total(self, user_id: str, upto: int | None = None) -> int:
        """The badge: the user's unread notifications, all rooms together (up to a position)."""
        if upto is None:
            value = await self._db.fetchval(
                "SELECT COUNT(*) FROM event_push_actions WHERE user_id = ?", user_id
            )
        else:
            value = await self._db.fetchval(
                "SELECT COUNT(*) FROM event_push_actions WHERE user_id = ? AND stream_pos <= ?",
                user_id,
                upto,
            )
        return int(value or 0)

    async def missed_calls(self, user_id: str) -> int:
        """Unread call invitations (the gateway's ``missed_calls`` count)."""
        return int(
            await self._db.fetchval(
                "SELECT COUNT(*) FROM event_push_actions a JOIN events e"
                " ON e.stream_pos = a.stream_pos"
                " WHERE a.user_id = ? AND e.type = 'm.call.invite'",
                user_id,
            )
            or 0
        )

    async def batch_notifications(
        self, txn: Transaction, positions: list[int], users: list[str]
    ) -> list[tuple[str, PendingNotification]]:
        """The notifications a just-written batch gave these users (read in its transaction)."""
        rows = await txn.fetchall(
            "SELECT a.user_id, a.stream_pos, a.room_id, e.event_id, a.highlight, a.actions_json"
            " FROM event_push_actions a JOIN events e ON e.stream_pos = a.stream_pos"
            f" WHERE a.stream_pos IN {in_clause(len(positions))}"
            f" AND a.user_id IN {in_clause(len(users))} ORDER BY a.stream_pos",
            *positions,
            *users,
        )
        return [(r[0], PendingNotification(int(r[1]), r[2], r[3], bool(r[4]), r[5])) for r in rows]

    async def unread_totals(self, txn: Transaction, users: list[str]) -> dict[str, tuple[int, int]]:
        """Each user's badge and missed calls now, read in the writing transaction."""
        rows = await txn.fetchall(
            "SELECT a.user_id, COUNT(*),"
            " SUM(CASE WHEN e.type = 'm.call.invite' THEN 1 ELSE 0 END)"
            " FROM event_push_actions a JOIN events e ON e.stream_pos = a.stream_pos"
            f" WHERE a.user_id IN {in_clause(len(users))} GROUP BY a.user_id",
            *users,
        )
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}
