"""Device keys, one-time keys and fallback keys (the public halves only)."""

from dataclasses import dataclass

import orjson

from sceau.protocol.types import JsonDict
from sceau.storage.database import Database, Transaction, in_clause


@dataclass(frozen=True)
class ClaimedKey:
    key_id: str
    key: JsonDict | str


class DeviceKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------ device keys

    async def get_device_keys(
        self, user_id: str, device_id: str, txn: Transaction | None = None
    ) -> JsonDict | None:
        raw = await (txn or self._db).fetchval(
            "SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?",
            user_id,
            device_id,
        )
        return None if raw is None else orjson.loads(raw)

    async def set_device_keys(
        self, txn: Transaction, user_id: str, device_id: str, keys: JsonDict
    ) -> None:
        await txn.execute(
            "INSERT INTO e2e_device_keys (user_id, device_id, key_json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, device_id) DO UPDATE SET key_json = excluded.key_json",
            user_id,
            device_id,
            orjson.dumps(keys).decode(),
        )

    async def insert_device_keys(
        self, txn: Transaction, user_id: str, device_id: str, keys: JsonDict
    ) -> JsonDict | None:
        """Store keys for a device that has none; else return (and lock) the existing ones.

        The INSERT decides between concurrent first uploads: on PostgreSQL a
        second insert waits for the first to commit, then finds its row.
        """
        row = await txn.fetchone(
            "INSERT INTO e2e_device_keys (user_id, device_id, key_json) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, device_id) DO NOTHING RETURNING device_id",
            user_id,
            device_id,
            orjson.dumps(keys).decode(),
        )
        if row is not None:
            return None
        lock = " FOR UPDATE" if txn.dialect == "postgresql" else ""
        raw = await txn.fetchval(
            f"SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?{lock}",
            user_id,
            device_id,
        )
        return None if raw is None else orjson.loads(raw)

    async def device_keys_for_users(
        self, user_ids: list[str]
    ) -> dict[str, dict[str, tuple[JsonDict, str | None]]]:
        """``{user: {device: (keys, display name)}}`` for every device that has keys."""
        found: dict[str, dict[str, tuple[JsonDict, str | None]]] = {}
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start : start + 500]
            rows = await self._db.fetchall(
                "SELECT k.user_id, k.device_id, k.key_json, d.display_name FROM e2e_device_keys k"
                " JOIN devices d ON d.user_id = k.user_id AND d.device_id = k.device_id"
                f" WHERE k.user_id IN {in_clause(len(chunk))}",
                *chunk,
            )
            for user_id, device_id, raw, name in rows:
                found.setdefault(user_id, {})[device_id] = (orjson.loads(raw), name)
        return found

    async def delete_device(self, txn: Transaction, user_id: str, device_id: str) -> None:
        """Forget every key of a device (it was deleted or replaced)."""
        for table in ("e2e_device_keys", "e2e_one_time_keys", "e2e_fallback_keys"):
            await txn.execute(
                f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?", user_id, device_id
            )
        await txn.execute(
            "DELETE FROM e2e_signatures WHERE target_user_id = ? AND target_key_id = ?",
            user_id,
            device_id,
        )

    # -------------------------------------------------------- one-time keys

    async def existing_one_time_keys(
        self, txn: Transaction, user_id: str, device_id: str, ids: list[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """Stored JSON of the given ``(algorithm, key_id)`` pairs that already exist."""
        found: dict[tuple[str, str], str] = {}
        key_ids = sorted({key_id for _alg, key_id in ids})
        for start in range(0, len(key_ids), 500):
            chunk = key_ids[start : start + 500]
            rows = await txn.fetchall(
                "SELECT algorithm, key_id, key_json FROM e2e_one_time_keys"
                f" WHERE user_id = ? AND device_id = ? AND key_id IN {in_clause(len(chunk))}",
                user_id,
                device_id,
                *chunk,
            )
            for algorithm, key_id, raw in rows:
                found[(algorithm, key_id)] = raw
        return found

    async def add_one_time_keys(
        self,
        txn: Transaction,
        user_id: str,
        device_id: str,
        keys: list[tuple[str, str, str]],
    ) -> None:
        """Store ``(algorithm, key_id, canonical json)`` keys after the existing ones."""
        if not keys:
            return
        last = await txn.fetchval(
            "SELECT MAX(seq) FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?",
            user_id,
            device_id,
        )
        seq = int(last or 0) + 1
        await txn.executemany(
            "INSERT INTO e2e_one_time_keys"
            " (user_id, device_id, algorithm, key_id, key_json, seq) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, device_id, algorithm, key_id) DO NOTHING",
            [(user_id, device_id, alg, key_id, raw, seq) for alg, key_id, raw in keys],
        )

    async def count_one_time_keys(self, user_id: str, device_id: str) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT algorithm, COUNT(*) FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? GROUP BY algorithm",
            user_id,
            device_id,
        )
        return {row[0]: int(row[1]) for row in rows}

    async def claim_one_time_key(
        self, txn: Transaction, user_id: str, device_id: str, algorithm: str
    ) -> ClaimedKey | None:
        """Remove and return the oldest key; a key is only ever returned once.

        The DELETE ... RETURNING is what hands the key out: two transactions
        that picked the same row cannot both delete it. On PostgreSQL the
        candidate row is locked (SKIP LOCKED), so a concurrent claim takes the
        next key instead of waiting; on SQLite transactions are serialised.
        """
        lock = " FOR UPDATE SKIP LOCKED" if txn.dialect == "postgresql" else ""
        for _attempt in range(5):
            row = await txn.fetchone(
                "DELETE FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
                " AND algorithm = ? AND key_id = (SELECT key_id FROM e2e_one_time_keys"
                " WHERE user_id = ? AND device_id = ? AND algorithm = ?"
                f" ORDER BY seq, key_id LIMIT 1{lock}) RETURNING key_id, key_json",
                user_id,
                device_id,
                algorithm,
                user_id,
                device_id,
                algorithm,
            )
            if row is not None:
                return ClaimedKey(row[0], orjson.loads(row[1]))
            remaining = await txn.fetchval(
                "SELECT 1 FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
                " AND algorithm = ?",
                user_id,
                device_id,
                algorithm,
            )
            if not remaining:
                return None
        return None

    # ---------------------------------------------------------- fallback keys

    async def get_fallback_key(
        self, user_id: str, device_id: str, algorithm: str
    ) -> tuple[str, str] | None:
        row = await self._db.fetchone(
            "SELECT key_id, key_json FROM e2e_fallback_keys"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ?",
            user_id,
            device_id,
            algorithm,
        )
        return None if row is None else (row[0], row[1])

    async def set_fallback_key(
        self, txn: Transaction, user_id: str, device_id: str, algorithm: str, key_id: str, raw: str
    ) -> None:
        """Replace the device's fallback key for ``algorithm`` (new keys start unused).

        Re-uploading the very same key keeps its "used" flag.
        """
        await txn.execute(
            "INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)"
            " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET"
            " used = CASE WHEN e2e_fallback_keys.key_id = excluded.key_id"
            " AND e2e_fallback_keys.key_json = excluded.key_json"
            " THEN e2e_fallback_keys.used ELSE 0 END,"
            " key_id = excluded.key_id, key_json = excluded.key_json",
            user_id,
            device_id,
            algorithm,
            key_id,
            raw,
        )

    async def claim_fallback_key(
        self, txn: Transaction, user_id: str, device_id: str, algorithm: str
    ) -> ClaimedKey | None:
        """The fallback key, marked used (it stays available until replaced)."""
        row = await txn.fetchone(
            "UPDATE e2e_fallback_keys SET used = 1"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ? RETURNING key_id, key_json",
            user_id,
            device_id,
            algorithm,
        )
        return None if row is None else ClaimedKey(row[0], orjson.loads(row[1]))

    async def sync_counts(self, user_id: str, device_id: str) -> tuple[dict[str, int], list[str]]:
        """One query for /sync: one-time key counts and unused fallback key algorithms."""
        rows = await self._db.fetchall(
            "SELECT 'otk', algorithm, COUNT(*) FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? GROUP BY algorithm"
            " UNION ALL SELECT 'fallback', algorithm, 0 FROM e2e_fallback_keys"
            " WHERE user_id = ? AND device_id = ? AND used = 0",
            user_id,
            device_id,
            user_id,
            device_id,
        )
        counts = {row[1]: int(row[2]) for row in rows if row[0] == "otk"}
        return counts, sorted(row[1] for row in rows if row[0] == "fallback")
