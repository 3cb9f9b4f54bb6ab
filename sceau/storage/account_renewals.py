"""Account renewal links and reminder bookkeeping (account validity)."""

from dataclasses import dataclass

from sceau.storage.database import Database, Transaction


@dataclass(frozen=True)
class ExpiringAccount:
    user_id: str
    expiration_ts: int
    mails_sent: int
    email: str


class AccountRenewalStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def expiring(
        self, before_ts: int, after_ts: int, mail_count: int
    ) -> list[ExpiringAccount]:
        """Active accounts with an email that expire in (after_ts, before_ts] and lack a reminder."""
        rows = await self._db.fetchall(
            "SELECT u.user_id, u.expiration_ts, u.renewal_mails_sent, MIN(t.address)"
            " FROM users u JOIN user_threepids t ON t.user_id = u.user_id AND t.medium = 'email'"
            " WHERE u.deactivated = 0 AND u.expiration_ts IS NOT NULL"
            " AND u.expiration_ts > ? AND u.expiration_ts <= ? AND u.renewal_mails_sent < ?"
            " GROUP BY u.user_id, u.expiration_ts, u.renewal_mails_sent",
            after_ts,
            before_ts,
            mail_count,
        )
        return [ExpiringAccount(r[0], int(r[1]), int(r[2]), r[3]) for r in rows]

    async def email_of(self, user_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT MIN(address) FROM user_threepids WHERE user_id = ? AND medium = 'email'",
            user_id,
        )
        return None if value is None else str(value)

    async def add_token(self, txn: Transaction, token_hash: str, user_id: str, now: int) -> None:
        await txn.execute(
            "INSERT INTO account_renewal_tokens (token_hash, user_id, created_ts) VALUES (?, ?, ?)",
            token_hash,
            user_id,
            now,
        )

    async def set_mails_sent(
        self, txn: Transaction, user_id: str, expiration_ts: int, count: int
    ) -> None:
        """Record reminders sent, only if the expiry is still the one they were for."""
        await txn.execute(
            "UPDATE users SET renewal_mails_sent = ? WHERE user_id = ? AND expiration_ts = ?",
            count,
            user_id,
            expiration_ts,
        )

    async def take_token(self, txn: Transaction, token_hash: str) -> str | None:
        """The user a link renews; every link of that user stops working (single use)."""
        user_id = await txn.fetchval(
            "SELECT user_id FROM account_renewal_tokens WHERE token_hash = ?", token_hash
        )
        if user_id is None:
            return None
        await txn.execute("DELETE FROM account_renewal_tokens WHERE user_id = ?", user_id)
        return str(user_id)
