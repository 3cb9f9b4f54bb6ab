"""Pending invitations by email (third-party invites waiting for their invitee to register)."""

from dataclasses import dataclass
from typing import Any

from sceau.storage.database import Database, Transaction


@dataclass(frozen=True)
class EmailInvite:
    token: str
    room_id: str
    sender: str
    address: str
    display_name: str
    created_ts: int
    expires_ts: int


_COLUMNS = "token, room_id, sender, address, display_name, created_ts, expires_ts"


def _invite(row: Any) -> EmailInvite:
    return EmailInvite(row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6]))


class EmailInviteStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, txn: Transaction, invite: EmailInvite) -> None:
        await txn.execute(
            f"INSERT INTO email_invites ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            invite.token,
            invite.room_id,
            invite.sender,
            invite.address,
            invite.display_name,
            invite.created_ts,
            invite.expires_ts,
        )

    async def pending_for(self, address: str, now: int) -> list[EmailInvite]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM email_invites WHERE address = ? AND expires_ts > ?"
            " ORDER BY created_ts",
            address,
            now,
        )
        return [_invite(r) for r in rows]

    async def claimable(self, now: int, limit: int = 100) -> list[tuple[EmailInvite, str]]:
        """Live invitations whose address an account of this server holds, with that account
        (left when the inviter's server could not be reached at registration)."""
        columns = ", ".join(f"i.{c}" for c in _COLUMNS.split(", "))
        rows = await self._db.fetchall(
            f"SELECT {columns}, t.user_id FROM email_invites i"
            " JOIN user_threepids t ON t.medium = 'email' AND t.address = i.address"
            " WHERE i.expires_ts > ? ORDER BY i.created_ts LIMIT ?",
            now,
            limit,
        )
        return [(_invite(r), str(r[7])) for r in rows]

    async def expired(self, now: int, limit: int = 100) -> list[EmailInvite]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM email_invites WHERE expires_ts <= ? LIMIT ?", now, limit
        )
        return [_invite(r) for r in rows]

    async def delete(self, token: str) -> None:
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM email_invites WHERE token = ?", token)
