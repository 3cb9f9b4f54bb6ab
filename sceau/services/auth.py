"""Access tokens, passwords and user-interactive authentication (UIA).

Tokens are 32 random bytes; only their SHA-256 is stored, so a database leak
gives no usable tokens. Passwords are hashed with argon2id off the event loop.
"""

import asyncio
import hashlib
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sceau.clock import Clock
from sceau.errors import MatrixError, expired_account, forbidden, missing_token, unknown_token
from sceau.storage.accounts import AccountStore


@dataclass(frozen=True)
class Requester:
    """Who is making an authenticated request."""

    user_id: str
    device_id: str
    token_hash: str
    is_guest: bool = False
    is_admin: bool = False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def default_password_hasher() -> PasswordHasher:
    """argon2id with one of OWASP's equivalent parameter sets (7 MiB, 5 passes, 1 lane).

    OWASP lists 19 MiB/2 passes, 12 MiB/3, 9 MiB/4 and 7 MiB/5 as one level
    of defence against offline guessing (as strong as bcrypt at 12 rounds).
    The smallest memory cost keeps a burst of hashes from inflating the
    resident set (7 MiB a hash instead of 19) and measured cheaper on CPU
    too: 21 ms a hash against 39 ms, since fewer fresh pages are touched.
    Hashes made with other parameters still verify (they carry their own).
    """
    return PasswordHasher(time_cost=5, memory_cost=7_168, parallelism=1)


def default_hash_concurrency() -> int:
    """One hash per core (more would only wait for CPU), at most four (7 MiB each)."""
    return max(1, min(4, os.cpu_count() or 1))


class PasswordService:
    """argon2id hashing, run in a worker thread because it is deliberately slow.

    Each hash holds its memory cost (7 MiB) while it runs, so at most
    ``concurrency`` run at once: a burst of registrations or logins queues on
    the semaphore instead of multiplying the resident set.
    """

    def __init__(
        self, hasher: PasswordHasher | None = None, concurrency: int | None = None
    ) -> None:
        self._hasher = hasher or default_password_hasher()
        self._slots = asyncio.Semaphore(concurrency or default_hash_concurrency())

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        if not password_hash:
            return False

        def check() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        async with self._slots:
            return await asyncio.to_thread(check)


class AuthService:
    """Turns an access token into a :class:`Requester`, noting the device's activity."""

    #: A device's stored last-seen time may lag by this much (ms): at most one
    #: write per device per interval, however often it makes requests.
    LAST_SEEN_WRITE_INTERVAL_MS = 300_000
    LAST_SEEN_CACHE_SIZE = 50_000

    def __init__(
        self,
        accounts: AccountStore,
        random_token: Callable[[], str] | None = None,
        clock: Clock | None = None,
    ):
        self._accounts = accounts
        self._random_token = random_token or (lambda: secrets.token_urlsafe(32))
        self._clock = clock
        #: (user, device) -> when this process last wrote its last-seen time.
        self._seen_written: OrderedDict[tuple[str, str], int] = OrderedDict()

    def new_access_token(self) -> tuple[str, str]:
        """A fresh (token, token_hash) pair."""
        token = "sct_" + self._random_token()
        return token, hash_token(token)

    def new_refresh_token(self) -> tuple[str, str]:
        """A fresh (refresh token, its hash) pair; only the hash is stored."""
        token = "scr_" + self._random_token()
        return token, hash_token(token)

    async def authenticate(
        self, token: str | None, ip: str | None = None, allow_expired: bool = False
    ) -> Requester:
        """The token's owner; an expired account is refused unless ``allow_expired`` (logout)."""
        if not token:
            raise missing_token()
        token_hash = hash_token(token)
        owner = await self._accounts.get_token_owner(token_hash)
        if owner is None or owner.deactivated:
            raise unknown_token()
        if owner.token_expires_ts is not None and self._expired(owner.token_expires_ts):
            # The client still holds its refresh token: a soft logout, not a lost session.
            raise unknown_token(soft_logout=True)
        if not allow_expired and self._expired(owner.expiration_ts):
            raise expired_account()
        await self._note_activity(owner.user_id, owner.device_id, ip)
        return Requester(
            user_id=owner.user_id,
            device_id=owner.device_id,
            token_hash=token_hash,
            is_guest=owner.is_guest,
            is_admin=owner.is_admin,
        )

    def _expired(self, expiration_ts: int | None) -> bool:
        if expiration_ts is None:
            return False
        now = self._clock.time_ms() if self._clock is not None else int(time.time() * 1000)
        return expiration_ts <= now

    async def _note_activity(self, user_id: str, device_id: str, ip: str | None) -> None:
        """Keep the device's last-seen time and IP (shown in device lists) current."""
        if self._clock is None:
            return
        now = self._clock.time_ms()
        key = (user_id, device_id)
        written = self._seen_written.get(key)
        if written is not None and now - written < self.LAST_SEEN_WRITE_INTERVAL_MS:
            return
        self._seen_written[key] = now
        self._seen_written.move_to_end(key)
        while len(self._seen_written) > self.LAST_SEEN_CACHE_SIZE:
            self._seen_written.popitem(last=False)
        await self._accounts.touch_device(user_id, device_id, now, ip)


# ------------------------------------------------------------------------- UIA


@dataclass
class UiaSession:
    session_id: str
    created: float
    completed: list[str] = field(default_factory=list)
    #: What the first request asked for: a retry must ask for the same thing.
    request_fingerprint: str = ""


class UiaService:
    """Tracks user-interactive auth sessions in memory (they are short-lived)."""

    SESSION_LIFETIME_S = 15 * 60
    MAX_SESSIONS = 10_000

    def __init__(self, clock: Clock, passwords: PasswordService, accounts: AccountStore) -> None:
        self._clock = clock
        self._passwords = passwords
        self._accounts = accounts
        self._sessions: dict[str, UiaSession] = {}

    def _new_session(self, fingerprint: str) -> UiaSession:
        self._expire()
        session = UiaSession(secrets.token_urlsafe(16), self._clock.monotonic())
        session.request_fingerprint = fingerprint
        self._sessions[session.session_id] = session
        return session

    def _expire(self) -> None:
        now = self._clock.monotonic()
        for sid in [
            s for s, v in self._sessions.items() if now - v.created > self.SESSION_LIFETIME_S
        ]:
            del self._sessions[sid]
        while len(self._sessions) >= self.MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]

    def challenge(
        self,
        session: UiaSession,
        flows: list[list[str]],
        params: dict[str, Any],
        error: MatrixError | None = None,
    ) -> MatrixError:
        """The 401 response that tells the client which stages remain."""
        body: dict[str, Any] = {
            "flows": [{"stages": stages} for stages in flows],
            "params": params,
            "session": session.session_id,
        }
        if session.completed:
            body["completed"] = list(session.completed)
        if error is not None:
            return MatrixError(401, error.errcode, error.error, **body)
        # Without a failed stage the 401 is not an error: flows, params and session only.
        return MatrixError(401, "", "Authentication is required", **body)

    async def run(
        self,
        auth: Any,
        flows: list[list[str]],
        check_stage: Callable[[str, dict[str, Any]], Any],
        params: dict[str, Any] | None = None,
        fingerprint: str = "",
    ) -> dict[str, Any]:
        """Advance a UIA session by the ``auth`` dict of the request.

        ``check_stage(stage, auth)`` is awaited for the stage the client
        attempts and must raise a MatrixError if it fails. Returns the auth dict
        once a whole flow is complete; otherwise raises the 401 challenge.
        """
        params = params or {}
        if auth is not None and not isinstance(auth, dict):
            from sceau.errors import bad_json

            raise bad_json("'auth' must be an object")
        session = None
        if auth and isinstance(auth.get("session"), str):
            session = self._sessions.get(auth["session"])
            if session is None:
                raise MatrixError(400, "M_UNKNOWN", "Unknown UIA session")
        if session is None:
            session = self._new_session(fingerprint)
        if not auth or "type" not in auth:
            raise self.challenge(session, flows, params)
        stage = auth.get("type")
        if not isinstance(stage, str) or not any(stage in f for f in flows):
            raise self.challenge(
                session, flows, params, MatrixError(400, "M_UNRECOGNIZED", "Unknown auth stage")
            )
        try:
            await check_stage(stage, auth)
        except MatrixError as err:
            raise self.challenge(session, flows, params, err) from None
        if stage not in session.completed:
            session.completed.append(stage)
        for flow in flows:
            if all(s in session.completed for s in flow):
                self._sessions.pop(session.session_id, None)
                return auth
        raise self.challenge(session, flows, params)

    async def check_password_stage(self, user_id: str, auth: dict[str, Any]) -> None:
        """The m.login.password stage, for a user re-proving who they are."""
        identifier = auth.get("identifier")
        claimed = auth.get("user")
        if isinstance(identifier, dict) and identifier.get("type") == "m.id.user":
            claimed = identifier.get("user")
        if claimed is not None and claimed not in (user_id, user_id[1:].split(":", 1)[0]):
            raise forbidden("Authenticated user does not match")
        password = auth.get("password")
        if not isinstance(password, str):
            raise forbidden("Invalid password")
        user = await self._accounts.get_user(user_id)
        if user is None or not await self._passwords.verify(user.password_hash, password):
            raise forbidden("Invalid password")
