"""Accounts: registration, login sessions, password changes and deactivation.

Every change is committed in one transaction, then the :class:`AccountHooks`
run, so other services (rooms, device lists) react to what is already stored
and a failing reaction can never undo or half-write an account change.
"""

import logging
import secrets
import string
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sceau.clock import Clock
from sceau.config import Config
from sceau.errors import (
    MatrixError,
    forbidden,
    guest_access_forbidden,
    invalid_param,
    invalid_username,
    missing_param,
    missing_token,
    not_found,
    unknown_token,
    user_deactivated,
    user_in_use,
)
from sceau.protocol.identifiers import (
    InvalidIdentifier,
    is_valid_localpart_for_registration,
    make_user_id,
    parse_user_id,
)
from sceau.services.auth import (
    AuthService,
    PasswordService,
    Requester,
    UiaService,
    hash_token,
)
from sceau.services.devices import PASSWORD_FLOWS, check_device_id, check_device_name
from sceau.services.policy.identity import (
    display_name_from_email,
    localpart_from_email,
    numbered_localparts,
)
from sceau.services.policy.passwords import PasswordPolicy
from sceau.services.ratelimit import RateLimiter
from sceau.services.threepid import EMAIL_STAGE, REGISTER, ThreepidService
from sceau.storage.accounts import AccountStore, TokenOwner, UserRecord
from sceau.storage.database import Database, Transaction

logger = logging.getLogger(__name__)


UserHook = Callable[[str], Awaitable[None]]
DeviceHook = Callable[[str, str], Awaitable[None]]
DevicesHook = Callable[[str, list[str]], Awaitable[None]]
BindHook = Callable[[Transaction, str], Awaitable[None]]


async def _run_hooks(name: str, callbacks: list[Any], *args: Any) -> None:
    """Await each callback; a failure is logged, never raised (the change is committed)."""
    for callback in callbacks:
        try:
            await callback(*args)
        except Exception:
            logger.exception("account hook %s failed for %s", name, args[0])


@dataclass
class AccountHooks:
    """Reactions of other services to committed account changes.

    The composition root appends callbacks; account, device and profile
    services call :meth:`fire_*` after their transaction commits.
    """

    device_created: list[DeviceHook] = field(default_factory=list)
    devices_deleted: list[DevicesHook] = field(default_factory=list)
    deactivated: list[UserHook] = field(default_factory=list)
    profile_changed: list[UserHook] = field(default_factory=list)

    async def fire_device_created(self, user_id: str, device_id: str) -> None:
        await _run_hooks("device_created", self.device_created, user_id, device_id)

    async def fire_devices_deleted(self, user_id: str, device_ids: list[str]) -> None:
        if device_ids:
            await _run_hooks("devices_deleted", self.devices_deleted, user_id, list(device_ids))

    async def fire_deactivated(self, user_id: str) -> None:
        await _run_hooks("deactivated", self.deactivated, user_id)

    async def fire_profile_changed(self, user_id: str) -> None:
        await _run_hooks("profile_changed", self.profile_changed, user_id)


@dataclass(frozen=True)
class Session:
    """A logged-in device: what /register and /login return."""

    user_id: str
    device_id: str
    access_token: str
    #: With ``refresh_token: true``: the token that renews the pair, and the
    #: access token's lifetime.
    refresh_token: str | None = None
    expires_in_ms: int | None = None


@dataclass(frozen=True)
class RegistrationRequest:
    """A /register body whose JSON types the HTTP layer has already checked."""

    username: str | None = None
    password: str | None = None
    device_id: str | None = None
    initial_device_display_name: str | None = None
    inhibit_login: bool = False
    auth: Any = None
    refresh_token: bool = False


def _random_device_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(10))


class AccountService:
    """Creates accounts and sessions; changes and closes them."""

    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        db: Database,
        accounts: AccountStore,
        auth: AuthService,
        passwords: PasswordService,
        uia: UiaService,
        ratelimiter: RateLimiter,
        hooks: AccountHooks,
        threepids: ThreepidService | None = None,
        random_device_id: Callable[[], str] = _random_device_id,
    ) -> None:
        self._config = config
        self._server_name = config.server_name
        self._clock = clock
        self._db = db
        self._accounts = accounts
        self._auth = auth
        self._passwords = passwords
        self._uia = uia
        self._ratelimiter = ratelimiter
        self._hooks = hooks
        self._threepids = threepids
        self._random_device_id = random_device_id
        self._dummy_hash: str | None = None
        self.password_policy = PasswordPolicy(config.policy.password)
        #: Called with (user ID, address) once an account registered with a verified email.
        self.email_bound_hooks: list[Callable[[str, str], Awaitable[None]]] = []

    # ------------------------------------------------------------ registration

    def registration_flows(self) -> list[list[str]]:
        mode = self._config.registration.mode
        if mode == "closed":
            raise forbidden("Registration is disabled on this server")
        # Token registration ends with a dummy stage, as clients (matrix-nio) and
        # Synapse expect: the token stage alone would finish the flow too early.
        if mode == "token":
            return [["m.login.registration_token", "m.login.dummy"]]
        if mode == "email":
            return [[EMAIL_STAGE]]
        return [["m.login.dummy"]]

    def user_id_for(self, username: str) -> str:
        """The user ID a new account would get, or M_INVALID_USERNAME."""
        localpart = username.lower()
        if not is_valid_localpart_for_registration(localpart):
            raise invalid_username("User IDs may contain only a-z, 0-9 and . _ = - / +")
        try:
            return make_user_id(localpart, self._server_name)
        except InvalidIdentifier:
            raise invalid_username("User ID is too long") from None

    async def check_username_available(self, username: str, ip: str) -> str:
        """GET /register/available: the user ID if free, else M_USER_IN_USE."""
        self.registration_flows()
        self._ratelimiter.check("registration", ip)
        user_id = self.user_id_for(username)
        if await self._accounts.user_exists(user_id):
            raise user_in_use()
        return user_id

    def registration_token_valid(self, token: str, ip: str) -> bool:
        self.registration_flows()
        self._ratelimiter.check("registration", ip)
        return any(secrets.compare_digest(token, t) for t in self._config.registration.tokens)

    async def register(self, request: RegistrationRequest, kind: str, ip: str) -> Session | str:
        """Run the UIA flow and create the account.

        Returns the new session, or only the user ID with ``inhibit_login``.
        """
        if kind == "guest":
            raise guest_access_forbidden()
        if kind != "user":
            raise invalid_param("kind must be 'user' or 'guest'")
        flows = self.registration_flows()
        self._ratelimiter.check("registration", ip)
        user_id = None
        if request.username is not None:
            user_id = self.user_id_for(request.username)
            if await self._accounts.user_exists(user_id):
                raise user_in_use()
        if request.password is not None:
            self.password_policy.check(request.password)
        if request.device_id is not None:
            check_device_id(request.device_id)
        check_device_name(request.initial_device_display_name)
        auth = await self._uia.run(request.auth, flows, self._check_registration_stage)
        if request.password is None:
            raise missing_param("password")
        bind: BindHook | None = None
        email_address: str | None = None
        if flows == [[EMAIL_STAGE]] and self._threepids is not None:
            email = await self._threepids.validated_session(auth, REGISTER)
            email_address = email.address
            threepids = self._threepids

            async def bind(txn: Transaction, new_user_id: str) -> None:
                await threepids.bind(txn, new_user_id, email)

        password_hash = await self._passwords.hash(request.password)
        session = await self._create_account(
            user_id,
            password_hash,
            is_admin=False,
            device=None
            if request.inhibit_login
            else (request.device_id, request.initial_device_display_name),
            bind=bind,
            email=email_address,
            refreshable=request.refresh_token,
        )
        if isinstance(session, Session):
            await self._accounts.touch_device(
                session.user_id, session.device_id, self._clock.time_ms(), ip
            )
        if email_address is not None:
            new_user = session.user_id if isinstance(session, Session) else session
            for hook in self.email_bound_hooks:
                await hook(new_user, email_address)
        return session

    async def _check_registration_stage(self, stage: str, auth: dict[str, Any]) -> None:
        if stage == "m.login.registration_token":
            token = auth.get("token")
            if not isinstance(token, str) or not any(
                secrets.compare_digest(token, t) for t in self._config.registration.tokens
            ):
                raise MatrixError(401, "M_FORBIDDEN", "Invalid registration token")
        elif stage == EMAIL_STAGE:
            if self._threepids is None:
                raise forbidden("Email validation is not available")
            await self._threepids.validated_session(auth, REGISTER)

    def _expiry(self, now: int) -> int | None:
        """When a new account expires: now + period if account validity is on."""
        validity = self._config.account_validity
        if not validity.enabled or validity.period_ms is None:
            return None
        return now + validity.period_ms

    async def _create_account(
        self,
        user_id: str | None,
        password_hash: str | None,
        is_admin: bool,
        device: tuple[str | None, str | None] | None,
        bind: BindHook | None = None,
        email: str | None = None,
        refreshable: bool = False,
    ) -> Session | str:
        """Insert the user and maybe its first session.

        The user ID is ``user_id``; else, for an agent registering with only a
        verified ``email``, one derived from it (numbered on a clash); else a
        random one. The display name starts as the email's "First Last [Org]",
        or the localpart, so no client shows a bare ID.
        """
        now = self._clock.time_ms()
        session: Session | None = None
        async with self._db.transaction() as txn:
            for candidate in self._candidate_ids(user_id, email):
                displayname = self._initial_displayname(candidate, email)
                if await self._accounts.insert_user(
                    txn,
                    candidate,
                    password_hash,
                    now,
                    is_admin,
                    displayname=displayname,
                    expiration_ts=self._expiry(now),
                ):
                    break
                if user_id is not None:
                    raise user_in_use()
            else:
                raise MatrixError(503, "M_UNKNOWN", "Could not generate a free user ID")
            if bind is not None:
                await bind(txn, candidate)
            if device is not None:
                session, _ = await self._open_session(
                    txn, candidate, device[0], device[1], refreshable
                )
        if session is None:
            return candidate
        await self._hooks.fire_device_created(session.user_id, session.device_id)
        return session

    def _candidate_ids(self, user_id: str | None, email: str | None) -> Iterator[str]:
        """The user IDs to try in order (deactivated IDs stay taken, so none is reused)."""
        if user_id is not None:
            yield user_id
        elif email is not None:
            for localpart in numbered_localparts(localpart_from_email(email)):
                yield self.user_id_for(localpart)
        else:
            for _ in range(10):
                yield self.user_id_for("user-" + secrets.token_hex(5))

    def _initial_displayname(self, user_id: str, email: str | None) -> str:
        if email is not None:
            return display_name_from_email(email, self._config.policy.organisations)
        return parse_user_id(user_id)[0]

    async def create_user(self, localpart: str, password: str | None, is_admin: bool) -> str:
        """An account made by an administrator (the admin CLI): no UIA, no session."""
        user_id = self.user_id_for(localpart)
        password_hash = None
        if password is not None:
            self.password_policy.check(password)
            password_hash = await self._passwords.hash(password)
        result = await self._create_account(user_id, password_hash, is_admin, device=None)
        assert isinstance(result, str)
        return result

    # ---------------------------------------------------------------- sessions

    async def _open_session(
        self,
        txn: Transaction,
        user_id: str,
        device_id: str | None,
        display_name: str | None,
        refreshable: bool = False,
    ) -> tuple[Session, bool]:
        """A new access token on ``device_id`` (created if new; its old tokens die)."""
        now = self._clock.time_ms()
        if device_id is None:
            device_id = self._random_device_id()
            while await self._accounts.device_exists(txn, user_id, device_id):
                device_id = self._random_device_id()
        created = await self._accounts.upsert_device(txn, user_id, device_id, display_name, now)
        if not created:
            await self._accounts.delete_device_tokens(txn, user_id, device_id)
        return await self._issue_tokens(txn, user_id, device_id, refreshable), created

    async def _issue_tokens(
        self, txn: Transaction, user_id: str, device_id: str, refreshable: bool
    ) -> Session:
        """An access token (expiring, paired with a refresh token, when ``refreshable``)."""
        now = self._clock.time_ms()
        token, token_hash = self._auth.new_access_token()
        if not refreshable:
            await self._accounts.insert_token(txn, token_hash, user_id, device_id, now)
            return Session(user_id, device_id, token)
        lifetime = self._config.sessions.refreshable_access_token_lifetime_ms
        await self._accounts.insert_token(
            txn, token_hash, user_id, device_id, now, expires_ts=now + lifetime
        )
        refresh, refresh_hash = self._auth.new_refresh_token()
        owner = TokenOwner(user_id, device_id, False, False, False)
        await self._accounts.insert_refresh_token(txn, refresh_hash, owner, token_hash, now)
        return Session(user_id, device_id, token, refresh, lifetime)

    async def refresh(self, refresh_token: str) -> Session:
        """POST /refresh: a new access and refresh token; the used refresh token dies."""
        async with self._db.transaction() as txn:
            owner = await self._accounts.take_refresh_token(txn, hash_token(refresh_token))
            if owner is None:
                raise unknown_token()
            return await self._issue_tokens(txn, owner.user_id, owner.device_id, True)

    async def login(
        self,
        user: str,
        password: str,
        device_id: str | None,
        display_name: str | None,
        ip: str,
        refreshable: bool = False,
    ) -> Session:
        """m.login.password: ``user`` is a localpart (any case) or a full user ID."""
        self._ratelimiter.check("login", ip)
        if device_id is not None:
            check_device_id(device_id)
        check_device_name(display_name)
        user_id = self._login_user_id(user)
        record = await self._accounts.get_user(user_id) if user_id else None
        if record is None:
            await self._passwords.verify(await self._dummy_password_hash(), password)
            raise forbidden("Invalid username or password")
        if record.deactivated:
            raise user_deactivated()
        if not await self._passwords.verify(record.password_hash, password):
            raise forbidden("Invalid username or password")
        async with self._db.transaction() as txn:
            session, created = await self._open_session(
                txn, record.user_id, device_id, display_name, refreshable
            )
        await self._accounts.touch_device(
            session.user_id, session.device_id, self._clock.time_ms(), ip
        )
        if created:
            await self._hooks.fire_device_created(session.user_id, session.device_id)
        return session

    async def user_for_threepid(self, medium: str, address: str) -> str:
        """The user an m.id.thirdparty login names; "" (no one, same refusal) if none."""
        if medium != "email" or self._threepids is None:
            return ""
        return await self._threepids.user_with_email(address) or ""

    def _login_user_id(self, user: str) -> str | None:
        """The local user ID that ``user`` names, or None if it cannot be one of ours."""
        if user.startswith("@"):
            try:
                localpart, server_name = parse_user_id(user)
            except InvalidIdentifier:
                return None
            if server_name != self._server_name:
                return None
        elif user:
            localpart = user
        else:
            return None
        try:
            return self.user_id_for(localpart)
        except MatrixError:
            return None

    async def _dummy_password_hash(self) -> str:
        """A hash to verify against for unknown users, so timing does not reveal who exists."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._passwords.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def logout(self, requester: Requester) -> None:
        """Delete the requester's device and every token on it."""
        async with self._db.transaction() as txn:
            await self._accounts.delete_device(txn, requester.user_id, requester.device_id)
        await self._hooks.fire_devices_deleted(requester.user_id, [requester.device_id])

    async def logout_all(self, requester: Requester) -> None:
        await self._delete_devices(requester.user_id, keep=None)

    async def _delete_devices(self, user_id: str, keep: str | None) -> list[str]:
        """Delete every device of the user (but ``keep``) with its tokens."""
        async with self._db.transaction() as txn:
            deleted = [d for d in await self._accounts.device_ids(txn, user_id) if d != keep]
            for device_id in deleted:
                await self._accounts.delete_device(txn, user_id, device_id)
            await self._accounts.delete_tokens_for_user(txn, user_id, except_device=keep)
        await self._hooks.fire_devices_deleted(user_id, deleted)
        return deleted

    # ------------------------------------------------- password and deactivation

    async def change_password(
        self, requester: Requester, new_password: str, logout_devices: bool, auth: Any
    ) -> None:
        """POST /account/password, under UIA m.login.password."""
        self.password_policy.check(new_password)
        await self._require_password(requester.user_id, auth)
        await self.set_password(requester.user_id, new_password)
        if logout_devices:
            await self._delete_devices(requester.user_id, keep=requester.device_id)

    async def reset_password_by_email(
        self, new_password: str, logout_devices: bool, auth: Any
    ) -> None:
        """POST /account/password without a token, under UIA m.login.email.identity."""
        if self._threepids is None or not self._threepids.resets_by_email:
            raise missing_token()
        self.password_policy.check(new_password)
        done = await self._uia.run(auth, [[EMAIL_STAGE]], self._threepids.check_reset_stage)
        user_id = await self._threepids.reset_owner(done)
        await self.set_password(user_id, new_password)
        if logout_devices:
            await self._delete_devices(user_id, keep=None)

    async def set_password(self, user_id: str, new_password: str) -> None:
        self.password_policy.check(new_password)
        password_hash = await self._passwords.hash(new_password)
        async with self._db.transaction() as txn:
            await self._accounts.set_password_hash(txn, user_id, password_hash)

    async def reset_password(self, user_id: str, new_password: str) -> None:
        """Admin reset: a new password, and every session of the user ends."""
        if (await self._existing_user(user_id)).deactivated:
            raise forbidden(f"{user_id} is deactivated")
        await self.set_password(user_id, new_password)
        await self._delete_devices(user_id, keep=None)

    async def deactivate(self, requester: Requester, auth: Any, erase: bool) -> None:
        """POST /account/deactivate, under UIA m.login.password."""
        await self._require_password(requester.user_id, auth)
        await self.deactivate_user(requester.user_id, erase)

    async def deactivate_user(self, user_id: str, erase: bool = False) -> None:
        """Close the account: its tokens and devices go, then hooks make it leave its rooms."""
        await self._existing_user(user_id)
        async with self._db.transaction() as txn:
            await self._accounts.set_deactivated(txn, user_id)
            if erase:
                await self._accounts.set_profile_field(txn, user_id, "displayname", None)
                await self._accounts.set_profile_field(txn, user_id, "avatar_url", None)
            devices = await self._accounts.device_ids(txn, user_id)
            for device_id in devices:
                await self._accounts.delete_device(txn, user_id, device_id)
            await self._accounts.delete_tokens_for_user(txn, user_id)
        await self._hooks.fire_devices_deleted(user_id, devices)
        await self._hooks.fire_deactivated(user_id)

    async def _require_password(self, user_id: str, auth: Any) -> None:
        async def check(_stage: str, stage_auth: dict[str, Any]) -> None:
            await self._uia.check_password_stage(user_id, stage_auth)

        await self._uia.run(auth, PASSWORD_FLOWS, check)

    async def _existing_user(self, user_id: str) -> UserRecord:
        record = await self._accounts.get_user(user_id)
        if record is None:
            raise not_found(f"No such user {user_id}")
        return record

    async def list_users(self) -> list[UserRecord]:
        return await self._accounts.list_users()
