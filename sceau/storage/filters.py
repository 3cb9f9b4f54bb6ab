"""Stored sync filters (POST /user/{userId}/filter)."""

from sceau.storage.database import Database


class FilterStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user_id: str, filter_json: str) -> int:
        async with self._db.transaction() as txn:
            highest = await txn.fetchval(
                "SELECT MAX(filter_id) FROM user_filters WHERE user_id = ?", user_id
            )
            filter_id = int(highest or 0) + 1
            await txn.execute(
                "INSERT INTO user_filters (user_id, filter_id, filter_json) VALUES (?, ?, ?)",
                user_id,
                filter_id,
                filter_json,
            )
        return filter_id

    async def get(self, user_id: str, filter_id: int) -> str | None:
        value = await self._db.fetchval(
            "SELECT filter_json FROM user_filters WHERE user_id = ? AND filter_id = ?",
            user_id,
            filter_id,
        )
        return None if value is None else str(value)
