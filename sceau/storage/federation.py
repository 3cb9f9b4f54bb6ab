"""Federation storage: remote servers' keys and inbound transaction IDs."""

from dataclasses import dataclass

from sceau.storage.database import Database


@dataclass(frozen=True)
class StoredServerKey:
    server_name: str
    key_id: str
    verify_key: str
    valid_until_ts: int
    fetched_ts: int
    key_json: str


_KEY_COLUMNS = "server_name, key_id, verify_key, valid_until_ts, fetched_ts, key_json"


class ServerKeyStore:
    """The key cache: what each server published, kept until replaced."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, server_name: str, key_id: str) -> StoredServerKey | None:
        row = await self._db.fetchone(
            f"SELECT {_KEY_COLUMNS} FROM federation_server_keys"
            " WHERE server_name = ? AND key_id = ?",
            server_name,
            key_id,
        )
        return None if row is None else StoredServerKey(*row)

    async def for_server(self, server_name: str) -> list[StoredServerKey]:
        rows = await self._db.fetchall(
            f"SELECT {_KEY_COLUMNS} FROM federation_server_keys WHERE server_name = ?",
            server_name,
        )
        return [StoredServerKey(*row) for row in rows]

    async def put_many(self, keys: list[StoredServerKey]) -> None:
        """Store fetched keys; a key already cached keeps the later validity."""
        async with self._db.transaction() as txn:
            for key in keys:
                await txn.execute(
                    f"INSERT INTO federation_server_keys ({_KEY_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (server_name, key_id) DO UPDATE"
                    " SET verify_key = excluded.verify_key,"
                    " valid_until_ts = excluded.valid_until_ts,"
                    " fetched_ts = excluded.fetched_ts, key_json = excluded.key_json"
                    " WHERE excluded.valid_until_ts >= federation_server_keys.valid_until_ts",
                    key.server_name,
                    key.key_id,
                    key.verify_key,
                    key.valid_until_ts,
                    key.fetched_ts,
                    key.key_json,
                )


class ReceivedTransactionStore:
    """Answers given to inbound transactions, by (origin, txn ID)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, origin: str, txn_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT response FROM federation_received_txns WHERE origin = ? AND txn_id = ?",
            origin,
            txn_id,
        )
        return None if value is None else str(value)

    async def put(self, origin: str, txn_id: str, response: str, now_ms: int) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "INSERT INTO federation_received_txns (origin, txn_id, response, received_ts)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (origin, txn_id) DO NOTHING",
                origin,
                txn_id,
                response,
                now_ms,
            )
