"""Identity-server access tokens: who each names (stored by hash, never in clear)."""

from sceau.storage.database import Database


class IdentityTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, token_hash: str, user_id: str, now_ms: int) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "INSERT INTO identity_tokens (token_hash, user_id, created_ts) VALUES (?, ?, ?)",
                token_hash,
                user_id,
                now_ms,
            )

    async def user_for(self, token_hash: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT user_id FROM identity_tokens WHERE token_hash = ?", token_hash
        )
        return None if value is None else str(value)

    async def delete(self, token_hash: str) -> None:
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM identity_tokens WHERE token_hash = ?", token_hash)
