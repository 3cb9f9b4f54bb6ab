"""Dehydrated devices (MSC3814): one per user, its pickled data opaque to the server."""

import orjson

from sceau.protocol.types import JsonDict
from sceau.storage.database import Database, Transaction


class DehydratedDeviceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: str) -> tuple[str, JsonDict] | None:
        row = await self._db.fetchone(
            "SELECT device_id, device_data FROM dehydrated_devices WHERE user_id = ?", user_id
        )
        return None if row is None else (row[0], orjson.loads(row[1]))

    async def set(self, txn: Transaction, user_id: str, device_id: str, data: JsonDict) -> None:
        await txn.execute(
            "INSERT INTO dehydrated_devices (user_id, device_id, device_data) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET device_id = excluded.device_id,"
            " device_data = excluded.device_data",
            user_id,
            device_id,
            orjson.dumps(data).decode(),
        )

    async def delete(self, txn: Transaction, user_id: str) -> None:
        await txn.execute("DELETE FROM dehydrated_devices WHERE user_id = ?", user_id)
