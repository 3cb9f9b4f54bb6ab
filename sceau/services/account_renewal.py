"""Account renewal by email, for accounts that expire (account validity).

Before an account expires, its owner receives reminders at the configured lead
times, each with a single-use link that extends the account by the validity
period. An agent whose account already expired can ask for a new email: the
request is the one thing an expired token may still do besides logging out.
"""

import hashlib
import logging
import secrets
from collections.abc import Callable

from sceau.clock import Clock
from sceau.config import Config
from sceau.errors import MatrixError, missing_param
from sceau.services.mailer import Mailer, MailError
from sceau.services.ratelimit import RateLimiter
from sceau.storage.account_renewals import AccountRenewalStore
from sceau.storage.accounts import AccountStore
from sceau.storage.database import Database

logger = logging.getLogger(__name__)

RENEW_PATH = "_matrix/client/unstable/account_validity/renew"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountRenewalService:
    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        db: Database,
        store: AccountRenewalStore,
        accounts: AccountStore,
        mailer: Mailer,
        ratelimiter: RateLimiter,
        random_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    ) -> None:
        self._config = config
        self._clock = clock
        self._db = db
        self._store = store
        self._accounts = accounts
        self._mailer = mailer
        self._ratelimiter = ratelimiter
        self._random_token = random_token

    @property
    def _reminders(self) -> list[int]:
        return self._config.account_validity.renewal_reminders_ms

    async def send_due_reminders(self) -> int:
        """Mail every account whose next reminder is due (the periodic job); the count sent."""
        if not self._reminders or not self._mailer.configured:
            return 0
        now = self._clock.time_ms()
        sent = 0
        due = await self._store.expiring(now + self._reminders[0], now, len(self._reminders))
        for account in due:
            # Reminders whose time has come; after an outage only the latest is mailed.
            passed = sum(1 for lead in self._reminders if now >= account.expiration_ts - lead)
            if passed <= account.mails_sent:
                continue
            try:
                await self._mail_link(account.user_id, account.email, account.expiration_ts)
            except MailError as exc:
                logger.warning("renewal email to %s failed: %s", account.user_id, exc)
                continue
            async with self._db.transaction() as txn:
                await self._store.set_mails_sent(
                    txn, account.user_id, account.expiration_ts, passed
                )
            sent += 1
        return sent

    async def send_mail_now(self, user_id: str) -> None:
        """POST /account_validity/send_mail: a fresh link, even for an expired account."""
        self._ratelimiter.check("email", user_id)
        email = await self._store.email_of(user_id)
        if email is None:
            raise MatrixError(
                400, "M_THREEPID_NOT_FOUND", "No email address is bound to this account"
            )
        user = await self._accounts.get_user(user_id)
        expiration_ts = user.expiration_ts if user is not None else None
        try:
            await self._mail_link(user_id, email, expiration_ts)
        except MailError:
            raise MatrixError(502, "M_UNKNOWN", "The renewal email could not be sent") from None

    async def renew(self, token: str) -> int | None:
        """Follow a renewal link: the new expiry, or None if the link is unknown or used."""
        if not token:
            raise missing_param("token")
        period = self._config.account_validity.period_ms
        if period is None:
            return None
        expiration_ts = self._clock.time_ms() + period
        async with self._db.transaction() as txn:
            user_id = await self._store.take_token(txn, _hash(token))
            if user_id is None:
                return None
            await self._accounts.set_expiration(txn, user_id, expiration_ts)
        return expiration_ts

    async def _mail_link(self, user_id: str, email: str, expiration_ts: int | None) -> None:
        token = self._random_token()
        async with self._db.transaction() as txn:
            await self._store.add_token(txn, _hash(token), user_id, self._clock.time_ms())
        link = f"{self._config.base_url}{RENEW_PATH}?token={token}"
        server = self._config.server_name
        when = ""
        if expiration_ts is not None:
            days = max(0, (expiration_ts - self._clock.time_ms()) // 86_400_000)
            when = (
                f"Votre compte {user_id} expire dans {days} jour(s).\n"
                f"Your account {user_id} expires in {days} day(s).\n\n"
            )
        text = (
            f"{when}Pour le prolonger, ouvrez ce lien / To renew it, open this link:\n\n"
            f"{link}\n\nCe lien ne sert qu'une fois. / This link works once.\n"
        )
        await self._mailer.send(
            email, f"[{server}] Prolongez votre compte / Renew your account", text
        )
