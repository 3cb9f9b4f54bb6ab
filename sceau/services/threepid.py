"""Email validation (requestToken, the emailed link) and the m.login.email.identity stage.

The server validates addresses itself: it emails a link holding a random
token, and following the link marks the session validated. A session is
keyed by (purpose, client_secret, address) so that a retried request with the
same ``send_attempt`` gets the same ``sid`` and sends no second email.
"""

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from sceau.clock import Clock
from sceau.config import Config
from sceau.errors import MatrixError, forbidden, invalid_param, missing_param, not_found
from sceau.services.email_policy import normalise_email
from sceau.services.mailer import Mailer, MailError
from sceau.services.policy.email_routing import EmailHome, EmailRouter
from sceau.services.ratelimit import RateLimiter
from sceau.storage.accounts import AccountStore
from sceau.storage.database import Database, Transaction
from sceau.storage.threepids import BoundThreepid, ThreepidStore, ValidationSession

REGISTER = "register"
PASSWORD = "password"
ADD = "add"
EMAIL_STAGE = "m.login.email.identity"
_SUBMIT_PATHS = {
    REGISTER: "_matrix/client/unstable/registration/email/submit_token",
    PASSWORD: "_matrix/client/unstable/password_reset/email/submit_token",
    ADD: "_matrix/client/unstable/add_threepid/email/submit_token",
}
_OPAQUE = re.compile(r"^[0-9a-zA-Z.=_-]{1,255}$")
MAX_SEND_ATTEMPT = 2**53


def threepid_denied(error: str, **extra: Any) -> MatrixError:
    return MatrixError(403, "M_THREEPID_DENIED", error, **extra)


def threepid_in_use() -> MatrixError:
    return MatrixError(400, "M_THREEPID_IN_USE", "This email address is already in use")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ThreepidService:
    """Validation sessions, bound addresses and the email policy of this server."""

    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        db: Database,
        store: ThreepidStore,
        accounts: AccountStore,
        mailer: Mailer,
        ratelimiter: RateLimiter,
        random_token: Callable[[], str] = lambda: secrets.token_urlsafe(24),
    ) -> None:
        self._config = config
        self._clock = clock
        self._db = db
        self._store = store
        self._accounts = accounts
        self._mailer = mailer
        self._ratelimiter = ratelimiter
        self._random_token = random_token
        self._lifetime_ms = config.email.token_lifetime_s * 1000
        self._router = EmailRouter(config)
        #: Set by the email-invitation service: does an invitation wait for this address?
        self.invited_lookup: Callable[[str], Awaitable[bool]] | None = None

    # ------------------------------------------------------------- policy

    def server_for_email(self, address: str) -> str:
        """GET /_sceau/v1/email_server: the server that owns the address."""
        home = self.email_home(address)
        if home is None:
            raise not_found("No server of this administration owns this email domain")
        return home.server

    def email_home(self, address: str) -> EmailHome | None:
        """Where an address belongs (``policy.email_routing``), M_INVALID_PARAM if malformed."""
        email = normalise_email(address)
        if email is None:
            raise invalid_param("Not a valid email address")
        return self._router.home_of(email)

    async def user_with_email(self, address: str) -> str | None:
        """The account an address is bound to (login with m.id.thirdparty), None if none."""
        email = normalise_email(address)
        return None if email is None else await self._store.owner("email", email)

    async def is_invited(self, address: str) -> bool:
        """Whether an invitation by email waits for this address (on this server)."""
        return await self.invited_lookup(address) if self.invited_lookup is not None else False

    async def _check_policy(self, email: str) -> None:
        home = self._router.home_of(email)
        if home is None:
            raise threepid_denied("This email domain may not register on this server")
        if home.server != self._config.server_name:
            raise threepid_denied(
                f"Addresses of this domain register on {home.server}", server_name=home.server
            )
        if home.requires_invite and not await self.is_invited(email):
            raise threepid_denied("This address may register only once invited to a room")

    # ------------------------------------------------------- requestToken

    async def request_email_token(
        self,
        purpose: str,
        client_secret: str,
        address: str,
        send_attempt: int,
        next_link: str | None,
        ip: str,
    ) -> str:
        """Start (or repeat) a validation session; email its link unless already sent."""
        self._ratelimiter.check("email", ip)
        if not _OPAQUE.match(client_secret):
            raise invalid_param("client_secret must be 1-255 characters of [0-9a-zA-Z.=_-]")
        if not 0 <= send_attempt <= MAX_SEND_ATTEMPT:
            raise invalid_param("send_attempt is out of range")
        email = normalise_email(address)
        if email is None:
            raise invalid_param("Not a valid email address")
        if not self._mailer.configured:
            raise forbidden("This server sends no email")
        owner = await self._store.owner("email", email)
        if purpose == REGISTER:
            if self._config.registration.mode != "email":
                raise forbidden("Registration by email is not enabled on this server")
            await self._check_policy(email)
            if owner is not None:
                raise threepid_in_use()
        elif purpose == ADD:
            self.check_changes_allowed()
            home = self._router.home_of(email)
            if home is None or home.server != self._config.server_name:
                raise threepid_denied("Addresses of this domain belong to another server")
            if owner is not None:
                raise threepid_in_use()
        elif owner is None:
            raise MatrixError(400, "M_THREEPID_NOT_FOUND", "No account has this email address")
        existing = await self._store.session_by_attempt_key(purpose, client_secret, email)
        if existing is not None and send_attempt <= existing.send_attempt:
            return existing.sid
        sid = existing.sid if existing is not None else self._random_token()
        token = self._random_token()
        await self._send_link(purpose, email, sid, client_secret, token)
        now = self._clock.time_ms()
        session = ValidationSession(
            sid, purpose, client_secret, "email", email, send_attempt, _hash(token),
            next_link, now, None,
        )  # fmt: skip
        await self._store.save_session(session, expired_before=now - self._lifetime_ms)
        return sid

    async def _send_link(
        self, purpose: str, email: str, sid: str, client_secret: str, token: str
    ) -> None:
        query = urlencode({"token": token, "client_secret": client_secret, "sid": sid})
        link = f"{self._config.base_url}{_SUBMIT_PATHS[purpose]}?{query}"
        action = {
            REGISTER: "create your account",
            PASSWORD: "reset your password",
            ADD: "add this address to your account",
        }[purpose]
        text = (
            f"To {action} on {self._config.server_name}, open this link:\n\n{link}\n\n"
            f"It is valid for {self._config.email.token_lifetime_s // 3600 or 1} hour(s). "
            "If you did not ask for this, ignore this message.\n"
        )
        subject = f"[{self._config.server_name}] Validate your email address"
        try:
            await self._mailer.send(email, subject, text)
        except MailError:
            raise MatrixError(502, "M_UNKNOWN", "The validation email could not be sent") from None

    # ------------------------------------------------------- the link

    async def submit_token(self, sid: str, client_secret: str, token: str) -> str | None:
        """Mark the session validated; return its next_link (if any)."""
        session = await self._store.session(sid)
        if (
            session is None
            or not secrets.compare_digest(session.client_secret, client_secret)
            or not secrets.compare_digest(session.token_hash, _hash(token))
        ):
            raise MatrixError(400, "M_NO_VALID_SESSION", "Unknown session or wrong token")
        if self._expired(session):
            raise MatrixError(400, "M_SESSION_EXPIRED", "This validation link has expired")
        if session.validated_ts is None:
            await self._store.mark_validated(sid, self._clock.time_ms())
        return session.next_link

    def _expired(self, session: ValidationSession) -> bool:
        return self._clock.time_ms() - session.sent_ts > self._lifetime_ms

    # ------------------------------------------------------- the UIA stage

    async def validated_session(self, auth: dict[str, Any], purpose: str) -> ValidationSession:
        """The m.login.email.identity stage: the session named by threepid_creds, validated."""
        creds = auth.get("threepid_creds", auth.get("threepidCreds"))
        if not isinstance(creds, dict):
            raise missing_param("threepid_creds")
        sid, client_secret = creds.get("sid"), creds.get("client_secret")
        if not isinstance(sid, str) or not isinstance(client_secret, str):
            raise missing_param("threepid_creds.sid and threepid_creds.client_secret")
        session = await self._store.session(sid)
        if (
            session is None
            or session.purpose != purpose
            or not secrets.compare_digest(session.client_secret, client_secret)
            or self._expired(session)
        ):
            raise MatrixError(401, "M_UNAUTHORIZED", "No valid email validation session")
        if session.validated_ts is None:
            raise MatrixError(401, "M_UNAUTHORIZED", "The email address is not validated yet")
        return session

    async def bind(self, txn: Transaction, user_id: str, session: ValidationSession) -> None:
        """Bind the session's address to a new account, in the account's transaction."""
        assert session.validated_ts is not None
        bound = BoundThreepid(
            session.medium, session.address, user_id, session.validated_ts, self._clock.time_ms()
        )
        if not await self._store.bind(txn, bound):
            raise threepid_in_use()
        await self._store.delete_session(txn, session.sid)

    @property
    def resets_by_email(self) -> bool:
        return self._mailer.configured

    async def check_reset_stage(self, _stage: str, auth: dict[str, Any]) -> None:
        await self.validated_session(auth, PASSWORD)

    async def reset_owner(self, auth: dict[str, Any]) -> str:
        """The account whose password a completed reset session may change (used up here)."""
        session = await self.validated_session(auth, PASSWORD)
        async with self._db.transaction() as txn:
            await self._store.delete_session(txn, session.sid)
        owner = await self._store.owner(session.medium, session.address)
        if owner is None:
            raise MatrixError(400, "M_THREEPID_NOT_FOUND", "No account has this email address")
        return owner

    # ------------------------------------------------------- adding and removing

    def check_changes_allowed(self) -> None:
        """policy.lock_email: addresses come from registration and never change."""
        if self._config.policy.lock_email:
            raise forbidden("Email addresses cannot be changed on this server")

    async def add_for_user(self, user_id: str, sid: str, client_secret: str) -> None:
        """POST /account/3pid/add (after UIA): bind a validated address to the account."""
        self.check_changes_allowed()
        auth = {"threepid_creds": {"sid": sid, "client_secret": client_secret}}
        session = await self.validated_session(auth, ADD)
        async with self._db.transaction() as txn:
            await self.bind(txn, user_id, session)

    async def delete_for_user(self, user_id: str, medium: str, address: str) -> None:
        """POST /account/3pid/delete: unbind one of the account's addresses."""
        self.check_changes_allowed()
        email = normalise_email(address) if medium == "email" else None
        if email is None or await self._store.owner("email", email) != user_id:
            raise MatrixError(400, "M_THREEPID_NOT_FOUND", "This address is not on your account")
        async with self._db.transaction() as txn:
            await self._store.unbind(txn, user_id, "email", email)

    # ------------------------------------------------------- listing

    async def threepids_json(self, user_id: str) -> list[dict[str, Any]]:
        """GET /account/3pid: the addresses bound to the user."""
        return [
            {
                "medium": t.medium,
                "address": t.address,
                "validated_at": t.validated_at,
                "added_at": t.added_at,
            }
            for t in await self._store.for_user(user_id)
        ]

    async def user_deactivated(self, user_id: str) -> None:
        """A closed account frees its addresses (as Synapse does)."""
        await self._store.unbind_all(user_id)
