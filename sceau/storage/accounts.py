"""Users, devices and access tokens."""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sceau.storage.database import Database, Transaction


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    password_hash: str | None
    created_ts: int
    is_admin: bool
    is_guest: bool
    deactivated: bool
    displayname: str | None
    avatar_url: str | None
    #: When the account stops working (account validity), or None.
    expiration_ts: int | None = None


@dataclass(frozen=True)
class DeviceRecord:
    user_id: str
    device_id: str
    display_name: str | None
    last_seen_ts: int | None
    last_seen_ip: str | None


@dataclass(frozen=True)
class TokenOwner:
    user_id: str
    device_id: str
    is_guest: bool
    is_admin: bool
    deactivated: bool
    expiration_ts: int | None = None
    #: When this access token stops working (tokens issued with a refresh token).
    token_expires_ts: int | None = None


USER_COLUMNS = (
    "user_id, password_hash, created_ts, is_admin, is_guest, deactivated, displayname,"
    " avatar_url, expiration_ts"
)


def user_from_row(row: Any) -> UserRecord:
    """A :class:`UserRecord` from a row of :data:`USER_COLUMNS`."""
    return UserRecord(
        row[0],
        row[1],
        int(row[2]),
        bool(row[3]),
        bool(row[4]),
        bool(row[5]),
        row[6],
        row[7],
        None if row[8] is None else int(row[8]),
    )


class AccountStore:
    #: Access tokens looked up recently (token hash -> owner), bounded.
    TOKEN_CACHE_SIZE = 20_000

    def __init__(self, db: Database) -> None:
        self._db = db
        self._owners: OrderedDict[str, TokenOwner] = OrderedDict()
        #: Bumped whenever a write may change a token's owner record; a read
        #: that saw the counter move is not cached (it may predate the write).
        self._owners_generation = 0
        #: Told once a transaction that cleared the owners has committed (other processes).
        self.on_owners_cleared: Callable[[], None] | None = None

    def token_cache_size(self) -> int:
        return len(self._owners)

    async def any_user(self) -> bool:
        """Whether any account exists (the server_name can change only before the first)."""
        return await self._db.fetchval("SELECT 1 FROM users LIMIT 1") is not None

    # ------------------------------------------------------------------ users

    async def insert_user(
        self,
        txn: Transaction,
        user_id: str,
        password_hash: str | None,
        created_ts: int,
        is_admin: bool = False,
        displayname: str | None = None,
        expiration_ts: int | None = None,
    ) -> bool:
        """Create a user; False if the ID is taken (no exception, no partial write).

        ``ON CONFLICT DO NOTHING`` keeps two concurrent registrations of one
        name from raising a unique violation: the second simply gets False.
        """
        inserted = await txn.fetchval(
            "INSERT INTO users"
            " (user_id, password_hash, created_ts, is_admin, displayname, expiration_ts)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
            user_id,
            password_hash,
            created_ts,
            int(is_admin),
            displayname,
            expiration_ts,
        )
        return inserted is not None

    async def get_user(self, user_id: str) -> UserRecord | None:
        row = await self._db.fetchone(
            f"SELECT {USER_COLUMNS} FROM users WHERE user_id = ?", user_id
        )
        return None if row is None else user_from_row(row)

    async def user_exists(self, user_id: str) -> bool:
        return bool(await self._db.fetchval("SELECT 1 FROM users WHERE user_id = ?", user_id))

    async def list_users(self) -> list[UserRecord]:
        rows = await self._db.fetchall(f"SELECT {USER_COLUMNS} FROM users ORDER BY user_id")
        return [user_from_row(row) for row in rows]

    async def set_password_hash(self, txn: Transaction, user_id: str, password_hash: str) -> None:
        await txn.execute(
            "UPDATE users SET password_hash = ? WHERE user_id = ?", password_hash, user_id
        )

    async def is_hidden_from_directory(self, user_id: str) -> bool:
        """Whether the user opted out of the user directory (``im.vector.hide_profile``)."""
        row = await self._db.fetchone(
            "SELECT hidden_from_directory FROM users WHERE user_id = ?", user_id
        )
        return row is not None and bool(row[0])

    async def set_hidden_from_directory(self, txn: Transaction, user_id: str, hidden: bool) -> None:
        await txn.execute(
            "UPDATE users SET hidden_from_directory = ? WHERE user_id = ?", int(hidden), user_id
        )

    async def set_deactivated(self, txn: Transaction, user_id: str) -> None:
        self._forget_owners(txn)
        await txn.execute(
            "UPDATE users SET deactivated = 1, password_hash = NULL WHERE user_id = ?", user_id
        )

    async def set_admin(self, txn: Transaction, user_id: str, is_admin: bool) -> None:
        self._forget_owners(txn)
        await txn.execute("UPDATE users SET is_admin = ? WHERE user_id = ?", int(is_admin), user_id)

    async def reactivate(self, txn: Transaction, user_id: str, password_hash: str) -> None:
        """Open a deactivated account again, with a new password (admin API)."""
        self._forget_owners(txn)
        await txn.execute(
            "UPDATE users SET deactivated = 0, password_hash = ? WHERE user_id = ?",
            password_hash,
            user_id,
        )

    async def set_expiration(self, txn: Transaction, user_id: str, expiration_ts: int) -> None:
        """When the account stops working (account validity); cached owners must see it."""
        self._forget_owners(txn)
        await txn.execute(
            "UPDATE users SET expiration_ts = ?, renewal_mails_sent = 0 WHERE user_id = ?",
            expiration_ts,
            user_id,
        )

    async def set_profile_field(
        self, txn: Transaction, user_id: str, field: str, value: str | None
    ) -> None:
        column = {"displayname": "displayname", "avatar_url": "avatar_url"}[field]
        await txn.execute(f"UPDATE users SET {column} = ? WHERE user_id = ?", value, user_id)

    # ---------------------------------------------------------------- devices

    async def upsert_device(
        self,
        txn: Transaction,
        user_id: str,
        device_id: str,
        display_name: str | None,
        created_ts: int,
    ) -> bool:
        """Create the device if new (True), else keep it and its name (False)."""
        inserted = await txn.fetchval(
            "INSERT INTO devices (user_id, device_id, display_name, created_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO NOTHING"
            " RETURNING device_id",
            user_id,
            device_id,
            display_name,
            created_ts,
        )
        return inserted is not None

    async def get_devices(self, user_id: str) -> list[DeviceRecord]:
        rows = await self._db.fetchall(
            "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip"
            " FROM devices WHERE user_id = ? ORDER BY device_id",
            user_id,
        )
        return [DeviceRecord(*row) for row in rows]

    async def get_device(self, user_id: str, device_id: str) -> DeviceRecord | None:
        row = await self._db.fetchone(
            "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip"
            " FROM devices WHERE user_id = ? AND device_id = ?",
            user_id,
            device_id,
        )
        return None if row is None else DeviceRecord(*row)

    async def rename_device(
        self, txn: Transaction, user_id: str, device_id: str, display_name: str | None
    ) -> None:
        await txn.execute(
            "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
            display_name,
            user_id,
            device_id,
        )

    async def delete_device(self, txn: Transaction, user_id: str, device_id: str) -> None:
        self._forget_owners(txn)
        await txn.execute(
            "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", user_id, device_id
        )
        await txn.execute(
            "DELETE FROM devices WHERE user_id = ? AND device_id = ?", user_id, device_id
        )

    async def touch_device(self, user_id: str, device_id: str, ts: int, ip: str | None) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "UPDATE devices SET last_seen_ts = ?, last_seen_ip = COALESCE(?, last_seen_ip)"
                " WHERE user_id = ? AND device_id = ?",
                ts,
                ip,
                user_id,
                device_id,
            )

    # ----------------------------------------------------------------- tokens

    async def insert_token(
        self,
        txn: Transaction,
        token_hash: str,
        user_id: str,
        device_id: str,
        created_ts: int,
        expires_ts: int | None = None,
    ) -> None:
        await txn.execute(
            "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts, expires_ts)"
            " VALUES (?, ?, ?, ?, ?)",
            token_hash,
            user_id,
            device_id,
            created_ts,
            expires_ts,
        )

    async def insert_refresh_token(
        self, txn: Transaction, token_hash: str, owner: TokenOwner, access_hash: str, now: int
    ) -> None:
        await txn.execute(
            "INSERT INTO refresh_tokens"
            " (token_hash, user_id, device_id, access_token_hash, created_ts)"
            " VALUES (?, ?, ?, ?, ?)",
            token_hash,
            owner.user_id,
            owner.device_id,
            access_hash,
            now,
        )

    async def take_refresh_token(self, txn: Transaction, token_hash: str) -> TokenOwner | None:
        """Use a refresh token once: its owner, with the access token it was paired with
        deleted; None if unknown, used, or its session has ended (logout, device deleted)."""
        row = await txn.fetchone(
            "SELECT r.user_id, r.device_id, r.access_token_hash, u.deactivated"
            " FROM refresh_tokens r JOIN users u ON u.user_id = r.user_id"
            " JOIN access_tokens t ON t.token_hash = r.access_token_hash"
            " WHERE r.token_hash = ?",
            token_hash,
        )
        await txn.execute("DELETE FROM refresh_tokens WHERE token_hash = ?", token_hash)
        if row is None or bool(row[3]):
            return None
        self._forget_owners(txn)
        await txn.execute("DELETE FROM access_tokens WHERE token_hash = ?", row[2])
        return TokenOwner(row[0], row[1], False, False, False)

    async def get_token_owner(self, token_hash: str) -> TokenOwner | None:
        """Who a token belongs to; every request asks, so answers are cached.

        Every write that deletes a token or changes what the record holds
        goes through this store and calls :meth:`_forget_owners` both when
        it runs and once it commits, so a cached owner is never stale.
        """
        cached = self._owners.get(token_hash)
        if cached is not None:
            return cached
        generation = self._owners_generation
        owner = await self._read_token_owner(token_hash)
        if owner is not None and generation == self._owners_generation:
            self._owners[token_hash] = owner
            while len(self._owners) > self.TOKEN_CACHE_SIZE:
                self._owners.popitem(last=False)
        return owner

    def _forget_owners(self, txn: Transaction) -> None:
        """Drop every cached owner now and again after ``txn`` commits.

        Token deletions are rare (log-outs, device deletions, password
        changes), so clearing the whole cache keeps this simple.
        """
        self._clear_owners()
        txn.after_commit(self._owners_cleared)

    def _owners_cleared(self) -> None:
        self._clear_owners()
        if self.on_owners_cleared is not None:
            self.on_owners_cleared()

    def clear_owner_cache(self) -> None:
        """Another process deleted a token or changed an account: forget every owner."""
        self._clear_owners()

    def _clear_owners(self) -> None:
        self._owners_generation += 1
        self._owners.clear()

    async def _read_token_owner(self, token_hash: str) -> TokenOwner | None:
        row = await self._db.fetchone(
            "SELECT t.user_id, t.device_id, u.is_guest, u.is_admin, u.deactivated,"
            " u.expiration_ts, t.expires_ts"
            " FROM access_tokens t JOIN users u ON u.user_id = t.user_id"
            " WHERE t.token_hash = ?",
            token_hash,
        )
        if row is None:
            return None
        return TokenOwner(
            row[0],
            row[1],
            bool(row[2]),
            bool(row[3]),
            bool(row[4]),
            None if row[5] is None else int(row[5]),
            None if row[6] is None else int(row[6]),
        )

    async def delete_token(self, txn: Transaction, token_hash: str) -> None:
        self._forget_owners(txn)
        await txn.execute("DELETE FROM access_tokens WHERE token_hash = ?", token_hash)

    async def delete_tokens_for_user(
        self, txn: Transaction, user_id: str, except_device: str | None = None
    ) -> None:
        self._forget_owners(txn)
        if except_device is None:
            await txn.execute("DELETE FROM access_tokens WHERE user_id = ?", user_id)
        else:
            await txn.execute(
                "DELETE FROM access_tokens WHERE user_id = ? AND device_id != ?",
                user_id,
                except_device,
            )

    # ------------------------------------------------ accounts service helpers

    async def delete_device_tokens(self, txn: Transaction, user_id: str, device_id: str) -> None:
        """Drop a device's access tokens but keep the device (re-login on the same device)."""
        self._forget_owners(txn)
        await txn.execute(
            "DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?", user_id, device_id
        )

    async def device_ids(self, txn: Transaction, user_id: str) -> list[str]:
        """The user's device IDs, read inside ``txn`` (so deletions see a stable list)."""
        rows = await txn.fetchall(
            "SELECT device_id FROM devices WHERE user_id = ? ORDER BY device_id", user_id
        )
        return [row[0] for row in rows]

    async def device_exists(self, txn: Transaction, user_id: str, device_id: str) -> bool:
        return bool(
            await txn.fetchval(
                "SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?", user_id, device_id
            )
        )
