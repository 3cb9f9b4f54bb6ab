"""Synapse-compatible admin API for accounts: list, show, create or change, close.

The paths and bodies are Synapse's (``docs/admin_api/user_admin_api.md``),
so existing tools such as synapse-admin work unchanged. Every change goes
through :class:`AccountService` and :class:`ProfileService`, so an account
closed here loses its tokens and leaves its rooms exactly as with
``/account/deactivate`` or ``sceau admin deactivate-user``.

``creation_ts`` is in seconds, as Synapse answers (its tools multiply by 1000).
"""

from dataclasses import dataclass
from typing import Any

from sceau import __version__
from sceau.clock import Clock
from sceau.errors import forbidden, invalid_param, missing_param, not_found
from sceau.protocol.identifiers import InvalidIdentifier, parse_user_id
from sceau.services.accounts import AccountService
from sceau.services.auth import PasswordService, Requester
from sceau.services.profile import ProfileService
from sceau.storage.accounts import AccountStore, UserRecord
from sceau.storage.admin import AdminStore, UserQuery
from sceau.storage.database import Database
from sceau.storage.state import StateStore

JsonDict = dict[str, Any]


def require_admin(requester: Requester) -> None:
    """403 M_FORBIDDEN unless the requester is a server admin."""
    if not requester.is_admin:
        raise forbidden("You are not a server admin")


@dataclass(frozen=True)
class UserChanges:
    """The fields of ``PUT /_synapse/admin/v2/users/{userId}``; None means unchanged."""

    password: str | None = None
    logout_devices: bool = True
    displayname: str | None = None
    avatar_url: str | None = None
    admin: bool | None = None
    deactivated: bool | None = None


class AdminUserService:
    def __init__(
        self,
        *,
        server_name: str,
        clock: Clock,
        db: Database,
        accounts: AccountStore,
        admin_store: AdminStore,
        account_service: AccountService,
        passwords: PasswordService,
        profile: ProfileService,
        state: StateStore,
        validity_period_ms: int | None = None,
    ) -> None:
        self._server_name = server_name
        self._clock = clock
        self._db = db
        self._accounts = accounts
        self._store = admin_store
        self._account_service = account_service
        self._passwords = passwords
        self._profile = profile
        self._state = state
        self._validity_period_ms = validity_period_ms

    def server_version(self, requester: Requester) -> JsonDict:
        require_admin(requester)
        return {"server_version": f"Sceau {__version__}"}

    async def list_users(self, requester: Requester, query: UserQuery) -> JsonDict:
        """GET /v2/users: one page, its ``next_token`` (an offset) when more remain."""
        require_admin(requester)
        users, total = await self._store.users(query)
        body: JsonDict = {"users": [_user_summary(u) for u in users], "total": total}
        if query.offset + len(users) < total:
            body["next_token"] = str(query.offset + len(users))
        return body

    async def get_user(self, requester: Requester, user_id: str) -> JsonDict:
        require_admin(requester)
        return _user_details(await self._existing(user_id))

    async def put_user(
        self, requester: Requester, user_id: str, changes: UserChanges
    ) -> tuple[JsonDict, bool]:
        """Create the account if it does not exist (True), else apply ``changes``."""
        require_admin(requester)
        localpart = self._local(user_id)
        record = await self._accounts.get_user(user_id)
        created = record is None
        if record is None:
            await self._account_service.create_user(
                localpart, changes.password, bool(changes.admin)
            )
            if changes.deactivated:
                await self._account_service.deactivate_user(user_id)
        else:
            await self._modify(requester, record, changes)
        await self._set_profile(user_id, changes)
        return _user_details(await self._existing(user_id)), created

    async def _modify(self, requester: Requester, record: UserRecord, changes: UserChanges) -> None:
        user_id = record.user_id
        if changes.admin is False and user_id == requester.user_id:
            raise invalid_param("You may not demote yourself")
        if changes.deactivated is False and record.deactivated:
            if changes.password is None:
                raise missing_param("password")
            self._account_service.password_policy.check(changes.password)
            password_hash = await self._passwords.hash(changes.password)
            async with self._db.transaction() as txn:
                await self._accounts.reactivate(txn, user_id, password_hash)
        elif changes.password is not None and not record.deactivated:
            if changes.logout_devices:
                await self._account_service.reset_password(user_id, changes.password)
            else:
                await self._account_service.set_password(user_id, changes.password)
        if changes.admin is not None and changes.admin != record.is_admin:
            async with self._db.transaction() as txn:
                await self._accounts.set_admin(txn, user_id, changes.admin)
        if changes.deactivated and not record.deactivated:
            await self._account_service.deactivate_user(user_id)

    async def _set_profile(self, user_id: str, changes: UserChanges) -> None:
        # The profile service lets users change only their own profile: act as the user.
        as_user = Requester(user_id=user_id, device_id="", token_hash="")
        if changes.displayname is not None:
            await self._profile.set_field(as_user, user_id, "displayname", changes.displayname)
        if changes.avatar_url is not None:
            await self._profile.set_field(as_user, user_id, "avatar_url", changes.avatar_url)

    async def deactivate(self, requester: Requester, user_id: str, erase: bool) -> JsonDict:
        """POST /v1/deactivate: tokens and devices go, rooms are left (as /account/deactivate)."""
        require_admin(requester)
        record = await self._existing(user_id)
        if not record.deactivated:
            await self._account_service.deactivate_user(user_id, erase=erase)
        return {"id_server_unbind_result": "success"}

    async def reset_password(
        self, requester: Requester, user_id: str, new_password: str, logout_devices: bool
    ) -> JsonDict:
        require_admin(requester)
        record = await self._existing(user_id)
        if record.deactivated:
            raise invalid_param(f"{user_id} is deactivated")
        if logout_devices:
            await self._account_service.reset_password(user_id, new_password)
        else:
            await self._account_service.set_password(user_id, new_password)
        return {}

    async def devices(self, requester: Requester, user_id: str) -> JsonDict:
        require_admin(requester)
        await self._existing(user_id)
        devices = [
            {
                "device_id": d.device_id,
                "display_name": d.display_name,
                "last_seen_ip": d.last_seen_ip,
                "last_seen_ts": d.last_seen_ts,
                "last_seen_user_agent": None,
                "user_id": d.user_id,
            }
            for d in await self._accounts.get_devices(user_id)
        ]
        return {"devices": devices, "total": len(devices)}

    async def joined_rooms(self, requester: Requester, user_id: str) -> JsonDict:
        require_admin(requester)
        await self._existing(user_id)
        rooms = sorted(m.room_id for m in await self._state.rooms_for_user(user_id, ("join",)))
        return {"joined_rooms": rooms, "total": len(rooms)}

    async def set_validity(
        self, requester: Requester, user_id: str, expiration_ts: int | None
    ) -> JsonDict:
        """POST /v1/account_validity/validity: when the account stops working.

        Without ``expiration_ts`` it is now + ``account_validity.period_ms``.
        The token cache is cleared by the store, so the next request sees it.
        """
        require_admin(requester)
        await self._existing(user_id)
        if expiration_ts is None:
            if self._validity_period_ms is None:
                raise missing_param("expiration_ts")
            expiration_ts = self._clock.time_ms() + self._validity_period_ms
        async with self._db.transaction() as txn:
            await self._accounts.set_expiration(txn, user_id, expiration_ts)
        return {"expiration_ts": expiration_ts}

    def _local(self, user_id: str) -> str:
        """The localpart of a user of this server, or 400 M_INVALID_PARAM."""
        try:
            localpart, server_name = parse_user_id(user_id)
        except InvalidIdentifier:
            raise invalid_param("Invalid user ID") from None
        if server_name != self._server_name:
            raise invalid_param("Only local users can be administered")
        return localpart

    async def _existing(self, user_id: str) -> UserRecord:
        self._local(user_id)
        record = await self._accounts.get_user(user_id)
        if record is None:
            raise not_found("User not found")
        return record


def _user_summary(user: UserRecord) -> JsonDict:
    """A user as ``GET /v2/users`` lists it."""
    return {
        "name": user.user_id,
        "is_guest": user.is_guest,
        "admin": user.is_admin,
        "user_type": None,
        "deactivated": user.deactivated,
        "erased": False,
        "shadow_banned": False,
        "displayname": user.displayname,
        "avatar_url": user.avatar_url,
        "creation_ts": user.created_ts // 1000,
        "locked": False,
        "approved": True,
        "expiration_ts": user.expiration_ts,
    }


def _user_details(user: UserRecord) -> JsonDict:
    """A user as ``GET /v2/users/{userId}`` shows it."""
    return {
        **_user_summary(user),
        "threepids": [],
        "external_ids": [],
        "appservice_id": None,
        "consent_server_notice_sent": None,
        "consent_version": None,
        "consent_ts": None,
        "suspended": False,
    }
