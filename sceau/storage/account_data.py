"""Account data: JSON blobs a client stores per user, globally or per room."""

from dataclasses import dataclass
from typing import Any

import orjson

from sceau.storage.database import Database, Transaction

#: The room_id column value for global account data.
GLOBAL = ""


@dataclass(frozen=True)
class AccountData:
    room_id: str
    type: str
    content: dict[str, Any]
    stream_pos: int


class AccountDataStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(
        self,
        txn: Transaction,
        user_id: str,
        room_id: str,
        data_type: str,
        content: dict[str, Any],
        stream_pos: int,
    ) -> None:
        await txn.execute(
            "INSERT INTO account_data (user_id, room_id, type, content, stream_pos)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, room_id, type) DO UPDATE SET"
            " content = excluded.content, stream_pos = excluded.stream_pos",
            user_id,
            room_id,
            data_type,
            orjson.dumps(content).decode(),
            stream_pos,
        )

    async def get(
        self, user_id: str, room_id: str, data_type: str, txn: Transaction | None = None
    ) -> dict[str, Any] | None:
        reader: Any = txn if txn is not None else self._db
        value = await reader.fetchval(
            "SELECT content FROM account_data WHERE user_id = ? AND room_id = ? AND type = ?",
            user_id,
            room_id,
            data_type,
        )
        if value is None:
            return None
        content = orjson.loads(value)
        return content if isinstance(content, dict) else {}

    async def changed(self, user_id: str, after: int | None, upto: int) -> list[AccountData]:
        """Every entry of the user written in (after, upto]; all of them when after is None."""
        sql = (
            "SELECT room_id, type, content, stream_pos FROM account_data"
            " WHERE user_id = ? AND stream_pos <= ?"
        )
        params: list[object] = [user_id, upto]
        if after is not None:
            sql += " AND stream_pos > ?"
            params.append(after)
        rows = await self._db.fetchall(sql + " ORDER BY stream_pos", *params)
        return [AccountData(row[0], row[1], orjson.loads(row[2]), int(row[3])) for row in rows]
