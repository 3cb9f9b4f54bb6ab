"""Server-side key backup: versions and the encrypted room keys stored in them."""

from dataclasses import dataclass
from typing import Any

import orjson

from sceau.protocol.types import JsonDict
from sceau.storage.database import Database, Transaction


@dataclass(frozen=True)
class BackupVersion:
    version: int
    algorithm: str
    auth_data: JsonDict
    etag: int


@dataclass(frozen=True)
class RoomKey:
    room_id: str
    session_id: str
    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: JsonDict

    def to_json(self) -> JsonDict:
        return {
            "first_message_index": self.first_message_index,
            "forwarded_count": self.forwarded_count,
            "is_verified": self.is_verified,
            "session_data": self.session_data,
        }


class KeyBackupStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_version(self, user_id: str, algorithm: str, auth_data: JsonDict) -> int:
        """A new version numbered after every earlier one (deleted ones included)."""
        for _attempt in range(10):
            async with self._db.transaction() as txn:
                last = await txn.fetchval(
                    "SELECT MAX(version) FROM room_key_versions WHERE user_id = ?", user_id
                )
                version = int(last or 0) + 1
                row = await txn.fetchone(
                    "INSERT INTO room_key_versions (user_id, version, algorithm, auth_data)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, version) DO NOTHING"
                    " RETURNING version",
                    user_id,
                    version,
                    algorithm,
                    orjson.dumps(auth_data).decode(),
                )
            if row is not None:
                return version
        raise RuntimeError("could not allocate a backup version")

    async def get_version(
        self, user_id: str, version: int | None, txn: Transaction | None = None
    ) -> BackupVersion | None:
        """A live backup version, or the newest one when ``version`` is None."""
        reader = txn or self._db
        sql = (
            "SELECT version, algorithm, auth_data, etag FROM room_key_versions"
            " WHERE user_id = ? AND deleted = 0"
        )
        if version is None:
            row = await reader.fetchone(sql + " ORDER BY version DESC LIMIT 1", user_id)
        else:
            row = await reader.fetchone(sql + " AND version = ?", user_id, version)
        if row is None:
            return None
        return BackupVersion(int(row[0]), row[1], orjson.loads(row[2]), int(row[3]))

    async def update_auth_data(self, user_id: str, version: int, auth_data: JsonDict) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "UPDATE room_key_versions SET auth_data = ? WHERE user_id = ? AND version = ?",
                orjson.dumps(auth_data).decode(),
                user_id,
                version,
            )

    async def delete_version(self, user_id: str, version: int) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "UPDATE room_key_versions SET deleted = 1 WHERE user_id = ? AND version = ?",
                user_id,
                version,
            )
            await txn.execute(
                "DELETE FROM room_keys WHERE user_id = ? AND version = ?", user_id, version
            )

    async def delete_user(self, user_id: str) -> None:
        """A deactivated account keeps no backups."""
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM room_keys WHERE user_id = ?", user_id)
            await txn.execute("DELETE FROM room_key_versions WHERE user_id = ?", user_id)

    async def bump_etag(self, txn: Transaction, user_id: str, version: int) -> None:
        await txn.execute(
            "UPDATE room_key_versions SET etag = etag + 1 WHERE user_id = ? AND version = ?",
            user_id,
            version,
        )

    async def count(self, user_id: str, version: int, txn: Transaction | None = None) -> int:
        reader = txn or self._db
        value = await reader.fetchval(
            "SELECT COUNT(*) FROM room_keys WHERE user_id = ? AND version = ?", user_id, version
        )
        return int(value or 0)

    async def get_keys(
        self,
        user_id: str,
        version: int,
        room_id: str | None = None,
        session_id: str | None = None,
        txn: Transaction | None = None,
    ) -> list[RoomKey]:
        reader = txn or self._db
        sql = (
            "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified,"
            " session_data FROM room_keys WHERE user_id = ? AND version = ?"
        )
        params: list[object] = [user_id, version]
        if room_id is not None:
            sql += " AND room_id = ?"
            params.append(room_id)
        if session_id is not None:
            sql += " AND session_id = ?"
            params.append(session_id)
        rows = await reader.fetchall(sql + " ORDER BY room_id, session_id", *params)
        return [
            RoomKey(r[0], r[1], int(r[2]), int(r[3]), bool(r[4]), orjson.loads(r[5])) for r in rows
        ]

    async def insert_key(
        self, txn: Transaction, user_id: str, version: int, key: RoomKey
    ) -> RoomKey | None:
        """Store a session that has no copy yet; else return (and lock) the stored copy."""
        row = await txn.fetchone(
            "INSERT INTO room_keys (user_id, version, room_id, session_id, first_message_index,"
            " forwarded_count, is_verified, session_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, version, room_id, session_id) DO NOTHING RETURNING session_id",
            user_id,
            version,
            key.room_id,
            key.session_id,
            key.first_message_index,
            key.forwarded_count,
            int(key.is_verified),
            orjson.dumps(key.session_data).decode(),
        )
        if row is not None:
            return None
        lock = " FOR UPDATE" if txn.dialect == "postgresql" else ""
        found = await txn.fetchone(
            "SELECT room_id, session_id, first_message_index, forwarded_count, is_verified,"
            " session_data FROM room_keys WHERE user_id = ? AND version = ? AND room_id = ?"
            f" AND session_id = ?{lock}",
            user_id,
            version,
            key.room_id,
            key.session_id,
        )
        assert found is not None
        return RoomKey(
            found[0], found[1], int(found[2]), int(found[3]), bool(found[4]), orjson.loads(found[5])
        )

    async def put_key(self, txn: Transaction, user_id: str, version: int, key: RoomKey) -> None:
        await txn.execute(
            "INSERT INTO room_keys (user_id, version, room_id, session_id, first_message_index,"
            " forwarded_count, is_verified, session_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE SET"
            " first_message_index = excluded.first_message_index,"
            " forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified,"
            " session_data = excluded.session_data",
            user_id,
            version,
            key.room_id,
            key.session_id,
            key.first_message_index,
            key.forwarded_count,
            int(key.is_verified),
            orjson.dumps(key.session_data).decode(),
        )

    async def delete_keys(
        self, user_id: str, version: int, room_id: str | None, session_id: str | None
    ) -> None:
        async with self._db.transaction() as txn:
            sql = "DELETE FROM room_keys WHERE user_id = ? AND version = ?"
            params: list[object] = [user_id, version]
            if room_id is not None:
                sql += " AND room_id = ?"
                params.append(room_id)
            if session_id is not None:
                sql += " AND session_id = ?"
                params.append(session_id)
            await txn.execute(sql, *params)
            await self.bump_etag(txn, user_id, version)

    def transaction(self) -> Any:
        """A write transaction (for read-compare-write of uploaded keys)."""
        return self._db.transaction()
