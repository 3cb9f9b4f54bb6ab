"""Stored sync filters (POST /user/{userId}/filter)."""

from collections import OrderedDict

from sceau.storage.database import Database


class FilterStore:
    """Stored filters. A filter never changes once stored, so reads are cached (bounded)."""

    CACHE_SIZE = 20_000

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: OrderedDict[tuple[str, int], str] = OrderedDict()

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
        # Clients send the same filter ID with every /sync: no query for it each time.
        key = (user_id, filter_id)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        value = await self._db.fetchval(
            "SELECT filter_json FROM user_filters WHERE user_id = ? AND filter_id = ?",
            user_id,
            filter_id,
        )
        if value is None:
            return None
        self._cache[key] = str(value)
        while len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return str(value)
