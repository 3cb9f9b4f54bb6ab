"""OpenID tokens: who a token names, until when (stored by hash, never in clear)."""

from sceau.storage.database import Database


class OpenIdTokenStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, token_hash: str, user_id: str, expires_ts: int, now_ms: int) -> None:
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM openid_tokens WHERE expires_ts < ?", now_ms)
            await txn.execute(
                "INSERT INTO openid_tokens (token_hash, user_id, expires_ts) VALUES (?, ?, ?)",
                token_hash,
                user_id,
                expires_ts,
            )

    async def user_for(self, token_hash: str, now_ms: int) -> str | None:
        value = await self._db.fetchval(
            "SELECT user_id FROM openid_tokens WHERE token_hash = ? AND expires_ts >= ?",
            token_hash,
            now_ms,
        )
        return None if value is None else str(value)
