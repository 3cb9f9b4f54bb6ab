"""Email validation sessions and the third-party identifiers bound to accounts."""

from dataclasses import dataclass

from sceau.storage.database import Database, Row, Transaction

_SESSION_COLUMNS = (
    "sid, purpose, client_secret, medium, address, send_attempt, token_hash, next_link,"
    " sent_ts, validated_ts"
)


@dataclass(frozen=True)
class ValidationSession:
    """One requestToken session; ``validated_ts`` is set once its emailed link is followed."""

    sid: str
    purpose: str
    client_secret: str
    medium: str
    address: str
    send_attempt: int
    token_hash: str
    next_link: str | None
    sent_ts: int
    validated_ts: int | None


@dataclass(frozen=True)
class BoundThreepid:
    medium: str
    address: str
    user_id: str
    validated_at: int
    added_at: int


def _session(row: Row) -> ValidationSession:
    return ValidationSession(
        sid=row[0],
        purpose=row[1],
        client_secret=row[2],
        medium=row[3],
        address=row[4],
        send_attempt=int(row[5]),
        token_hash=row[6],
        next_link=row[7],
        sent_ts=int(row[8]),
        validated_ts=None if row[9] is None else int(row[9]),
    )


class ThreepidStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------ sessions

    async def session_by_attempt_key(
        self, purpose: str, client_secret: str, address: str
    ) -> ValidationSession | None:
        row = await self._db.fetchone(
            f"SELECT {_SESSION_COLUMNS} FROM threepid_sessions"
            " WHERE purpose = ? AND client_secret = ? AND address = ?",
            purpose,
            client_secret,
            address,
        )
        return None if row is None else _session(row)

    async def session(self, sid: str) -> ValidationSession | None:
        row = await self._db.fetchone(
            f"SELECT {_SESSION_COLUMNS} FROM threepid_sessions WHERE sid = ?", sid
        )
        return None if row is None else _session(row)

    async def save_session(self, session: ValidationSession, expired_before: int) -> None:
        """Insert or replace the session (a new send attempt resets its token and validation).

        Sessions sent before ``expired_before`` are dropped in the same transaction,
        so the table holds only live sessions.
        """
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM threepid_sessions WHERE sent_ts < ?", expired_before)
            await txn.execute("DELETE FROM threepid_sessions WHERE sid = ?", session.sid)
            await txn.execute(
                f"INSERT INTO threepid_sessions ({_SESSION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                session.sid,
                session.purpose,
                session.client_secret,
                session.medium,
                session.address,
                session.send_attempt,
                session.token_hash,
                session.next_link,
                session.sent_ts,
                session.validated_ts,
            )

    async def mark_validated(self, sid: str, validated_ts: int) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "UPDATE threepid_sessions SET validated_ts = ? WHERE sid = ?", validated_ts, sid
            )

    async def delete_session(self, txn: Transaction, sid: str) -> None:
        await txn.execute("DELETE FROM threepid_sessions WHERE sid = ?", sid)

    # ------------------------------------------------------------ bindings

    async def owner(self, medium: str, address: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT user_id FROM user_threepids WHERE medium = ? AND address = ?", medium, address
        )
        return None if value is None else str(value)

    async def bind(self, txn: Transaction, threepid: BoundThreepid) -> bool:
        """Bind the address to the user; False if another account holds it already."""
        inserted = await txn.fetchval(
            "INSERT INTO user_threepids (medium, address, user_id, validated_at, added_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (medium, address) DO NOTHING RETURNING user_id",
            threepid.medium,
            threepid.address,
            threepid.user_id,
            threepid.validated_at,
            threepid.added_at,
        )
        return inserted is not None

    async def for_user(self, user_id: str) -> list[BoundThreepid]:
        rows = await self._db.fetchall(
            "SELECT medium, address, user_id, validated_at, added_at FROM user_threepids"
            " WHERE user_id = ? ORDER BY added_at, address",
            user_id,
        )
        return [BoundThreepid(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    async def unbind(self, txn: Transaction, user_id: str, medium: str, address: str) -> None:
        await txn.execute(
            "DELETE FROM user_threepids WHERE user_id = ? AND medium = ? AND address = ?",
            user_id,
            medium,
            address,
        )

    async def unbind_all(self, user_id: str) -> None:
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM user_threepids WHERE user_id = ?", user_id)
