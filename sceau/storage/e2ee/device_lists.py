"""Device-list changes: which users' devices or cross-signing keys changed, and when."""

from sceau.storage.database import Database, Transaction, in_clause

#: Upper bound meaning "up to now".
_NO_END = 2**62


class DeviceListStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_change(self, txn: Transaction, user_id: str, stream_pos: int) -> None:
        await txn.execute(
            "INSERT INTO device_list_changes (user_id, stream_pos) VALUES (?, ?)"
            " ON CONFLICT (stream_pos, user_id) DO NOTHING",
            user_id,
            stream_pos,
        )

    async def changed_users(self, after: int, upto: int) -> set[str]:
        """Users with a change in ``(after, upto]``."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT user_id FROM device_list_changes"
            " WHERE stream_pos > ? AND stream_pos <= ?",
            after,
            upto,
        )
        return {row[0] for row in rows}

    async def own_membership_changes(
        self, user_id: str, after: int, upto: int | None
    ) -> list[tuple[str, str]]:
        """``(room_id, membership)`` of the user's rooms whose membership changed in range."""
        rows = await self._db.fetchall(
            "SELECT room_id, membership FROM current_state WHERE type = 'm.room.member'"
            " AND state_key = ? AND stream_pos > ? AND stream_pos <= ?",
            user_id,
            after,
            _NO_END if upto is None else upto,
        )
        return [(row[0], row[1]) for row in rows]

    async def members_changed_since(
        self, room_ids: list[str], after: int, upto: int | None
    ) -> tuple[set[str], set[str]]:
        """``(joined, gone)``: members whose membership in these rooms changed in the range."""
        joined: set[str] = set()
        gone: set[str] = set()
        for start in range(0, len(room_ids), 500):
            chunk = room_ids[start : start + 500]
            rows = await self._db.fetchall(
                "SELECT state_key, membership FROM current_state"
                f" WHERE room_id IN {in_clause(len(chunk))} AND type = 'm.room.member'"
                " AND stream_pos > ? AND stream_pos <= ?",
                *chunk,
                after,
                _NO_END if upto is None else upto,
            )
            for user_id, membership in rows:
                if membership == "join":
                    joined.add(user_id)
                elif membership in ("leave", "ban"):
                    gone.add(user_id)
        return joined, gone

    async def joined_members(self, room_ids: list[str]) -> set[str]:
        members: set[str] = set()
        for start in range(0, len(room_ids), 500):
            chunk = room_ids[start : start + 500]
            rows = await self._db.fetchall(
                "SELECT state_key FROM current_state"
                f" WHERE room_id IN {in_clause(len(chunk))} AND type = 'm.room.member'"
                " AND membership = 'join'",
                *chunk,
            )
            members.update(row[0] for row in rows)
        return members
