"""Cross-signing keys (master, self-signing, user-signing) and uploaded signatures."""

from dataclasses import dataclass
from typing import Any

import orjson

from sceau.protocol.types import JsonDict
from sceau.storage.database import Database, Transaction, in_clause

KEY_TYPES = ("master", "self_signing", "user_signing")


@dataclass(frozen=True)
class StoredSignature:
    target_user_id: str
    target_key_id: str
    signer_user_id: str
    signer_key_id: str
    signature: str


class CrossSigningStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_keys(self, user_id: str) -> dict[str, JsonDict]:
        """``{key_type: key}`` for the user's current cross-signing keys."""
        rows = await self._db.fetchall(
            "SELECT key_type, key_json FROM e2e_cross_signing_keys WHERE user_id = ?", user_id
        )
        return {row[0]: orjson.loads(row[1]) for row in rows}

    async def keys_for_users(self, user_ids: list[str]) -> dict[str, dict[str, JsonDict]]:
        rows = await self._rows_for_users(
            "SELECT user_id, key_type, key_json FROM e2e_cross_signing_keys WHERE user_id IN",
            user_ids,
        )
        found: dict[str, dict[str, JsonDict]] = {}
        for user_id, key_type, raw in rows:
            found.setdefault(user_id, {})[key_type] = orjson.loads(raw)
        return found

    async def set_key(
        self,
        txn: Transaction,
        user_id: str,
        key_type: str,
        public_key: str,
        key: JsonDict,
        stream_pos: int,
    ) -> None:
        await txn.execute(
            "INSERT INTO e2e_cross_signing_keys"
            " (user_id, key_type, public_key, key_json, stream_pos) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, key_type) DO UPDATE SET public_key = excluded.public_key,"
            " key_json = excluded.key_json, stream_pos = excluded.stream_pos",
            user_id,
            key_type,
            public_key,
            orjson.dumps(key).decode(),
            stream_pos,
        )

    async def add_signature(self, txn: Transaction, sig: StoredSignature) -> None:
        await txn.execute(
            "INSERT INTO e2e_signatures (target_user_id, target_key_id, signer_user_id,"
            " signer_key_id, signature) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (target_user_id, target_key_id, signer_user_id, signer_key_id)"
            " DO UPDATE SET signature = excluded.signature",
            sig.target_user_id,
            sig.target_key_id,
            sig.signer_user_id,
            sig.signer_key_id,
            sig.signature,
        )

    async def delete_signatures_on(self, txn: Transaction, user_id: str, key_id: str) -> None:
        """Drop signatures on a key that was replaced (they signed the old key)."""
        await txn.execute(
            "DELETE FROM e2e_signatures WHERE target_user_id = ? AND target_key_id = ?",
            user_id,
            key_id,
        )

    async def delete_signatures_by(
        self, txn: Transaction, signer_user_id: str, signer_key_id: str
    ) -> None:
        """Drop signatures made with a key that was replaced (they no longer vouch)."""
        await txn.execute(
            "DELETE FROM e2e_signatures WHERE signer_user_id = ? AND signer_key_id = ?",
            signer_user_id,
            signer_key_id,
        )

    async def delete_user(self, txn: Transaction, user_id: str) -> None:
        """A deactivated account: its cross-signing keys and the signatures it made go."""
        await txn.execute("DELETE FROM e2e_cross_signing_keys WHERE user_id = ?", user_id)
        await txn.execute(
            "DELETE FROM e2e_signatures WHERE target_user_id = ? OR signer_user_id = ?",
            user_id,
            user_id,
        )

    async def signatures_for(
        self, target_user_ids: list[str], visible_signers: list[str]
    ) -> list[StoredSignature]:
        """Signatures on these users' keys made by the owners or by ``visible_signers``."""
        rows = await self._rows_for_users(
            "SELECT target_user_id, target_key_id, signer_user_id, signer_key_id, signature"
            " FROM e2e_signatures WHERE target_user_id IN",
            target_user_ids,
        )
        allowed = set(visible_signers)
        return [StoredSignature(*row) for row in rows if row[2] == row[0] or row[2] in allowed]

    async def _rows_for_users(self, sql: str, user_ids: list[str]) -> list[Any]:
        """``sql`` ends with ``IN``; run it over the users in chunks (parameter limits)."""
        rows: list[Any] = []
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start : start + 500]
            rows.extend(await self._db.fetchall(f"{sql} {in_clause(len(chunk))}", *chunk))
        return rows
