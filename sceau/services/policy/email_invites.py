"""Invitations by email, for people who have no account yet (external partners above all).

An agent invites an address. When it belongs to an account of this server, that
account is simply invited. Otherwise the server, acting as its own identity
server, follows the spec's third-party invite flow: it sends an
``m.room.third_party_invite`` state event whose display name masks the address
(``j***@p***.fr``) and whose public key is this server's, mails the invitee, and
keeps the invitation until it expires. When the address's owner registers here,
each pending invitation becomes an ``m.room.member`` invite carrying the
``signed`` block the authorization rules check against that key.
"""

import logging
import secrets
from typing import Any

from sceau.clock import Clock
from sceau.config import Config
from sceau.errors import MatrixError, invalid_param
from sceau.protocol.signing import SigningKey, sign_json
from sceau.services.email_policy import normalise_email
from sceau.services.events import EventService, EventSpec
from sceau.services.mailer import Mailer, MailError
from sceau.services.policy.access_rules import RESTRICTED, RoomAccessPolicy, refusal
from sceau.services.policy.email_routing import EmailRouter
from sceau.services.ratelimit import RateLimiter
from sceau.services.rooms import RoomService
from sceau.storage.database import Database
from sceau.storage.email_invites import EmailInvite, EmailInviteStore
from sceau.storage.threepids import ThreepidStore

logger = logging.getLogger(__name__)

PUBKEY_PATH = "_matrix/identity/v2/pubkey"


def mask_address(address: str) -> str:
    """What other members see of an invited address: ``jean.dupont@prestataire.fr`` ->
    ``j***@p***.fr``."""
    local, _, domain = address.partition("@")
    labels = domain.split(".")
    head = labels[0][:1] + "***" if labels else "***"
    return f"{local[:1]}***@{'.'.join([head, *labels[1:]])}"


class EmailInviteService:
    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        db: Database,
        store: EmailInviteStore,
        threepids: ThreepidStore,
        events: EventService,
        rooms: RoomService,
        access: RoomAccessPolicy,
        mailer: Mailer,
        ratelimiter: RateLimiter,
        signing_key: SigningKey,
    ) -> None:
        self._config = config
        self._clock = clock
        self._db = db
        self._store = store
        self._threepids = threepids
        self._events = events
        self._rooms = rooms
        self._access = access
        self._mailer = mailer
        self._ratelimiter = ratelimiter
        self._key = signing_key
        self._router = EmailRouter(config)

    def public_key(self) -> str:
        return self._key.verify_key_base64

    async def is_invited(self, address: str) -> bool:
        email = normalise_email(address)
        if email is None:
            return False
        return bool(await self._store.pending_for(email, self._clock.time_ms()))

    async def invite(self, sender: str, room_id: str, medium: str, address: str) -> None:
        """POST /rooms/{roomId}/invite with a third-party identifier."""
        if medium != "email":
            raise invalid_param("Only email invitations are supported")
        email = normalise_email(address)
        if email is None:
            raise invalid_param("Not a valid email address")
        self._ratelimiter.check("email", sender)
        owner = await self._threepids.owner("email", email)
        if owner is not None:
            await self._rooms.invite(sender, room_id, owner)
            return
        await self._check_admitted(room_id, email)
        token = secrets.token_urlsafe(24)
        display_name = mask_address(email)
        key_url = f"{self._config.base_url}{PUBKEY_PATH}/isvalid"
        content: dict[str, Any] = {
            "display_name": display_name,
            "key_validity_url": key_url,
            "public_key": self.public_key(),
            "public_keys": [{"public_key": self.public_key(), "key_validity_url": key_url}],
        }
        await self._events.send(
            room_id, EventSpec("m.room.third_party_invite", content, sender, state_key=token)
        )
        now = self._clock.time_ms()
        lifetime = self._config.policy.email_invite_lifetime_ms
        invite = EmailInvite(token, room_id, sender, email, display_name, now, now + lifetime)
        async with self._db.transaction() as txn:
            await self._store.add(txn, invite)
        await self._mail(invite)

    async def _check_admitted(self, room_id: str, email: str) -> None:
        home = self._router.home_of(email)
        if home is None:
            raise MatrixError(
                403, "M_THREEPID_DENIED", "No server of this administration takes this address"
            )
        if not self._access.is_external(f"@x:{home.server}"):
            return
        facts = await self._access.facts(room_id)
        if facts.rule in (None, RESTRICTED) and self._config.policy.room_access_rules:
            raise refusal(
                "EXTERNAL_NOT_ALLOWED",
                "Ce salon n'est pas ouvert aux partenaires externes",
                "This room is closed to external partners",
            )

    async def _mail(self, invite: EmailInvite) -> None:
        if not self._mailer.configured:
            return
        link = f"{self._config.base_url}#/register?email={invite.address}"
        text = (
            f"{invite.sender} vous invite à échanger sur {self._config.server_name}.\n"
            f"{invite.sender} invites you to chat on {self._config.server_name}.\n\n"
            f"Créez votre compte avec cette adresse / Create your account with this address:\n"
            f"{link}\n"
        )
        try:
            await self._mailer.send(invite.address, "Invitation", text)
        except MailError as exc:
            logger.warning("invitation email for %s failed: %s", invite.room_id, exc)

    async def claim(self, user_id: str, address: str) -> int:
        """After ``user_id`` bound ``address``: turn its pending invitations into memberships."""
        done = 0
        for invite in await self._store.pending_for(address, self._clock.time_ms()):
            signed = sign_json(
                {"mxid": user_id, "token": invite.token}, self._config.server_name, self._key
            )
            content = {
                "membership": "invite",
                "third_party_invite": {"display_name": invite.display_name, "signed": signed},
            }
            try:
                await self._events.send(
                    invite.room_id,
                    EventSpec("m.room.member", content, invite.sender, state_key=user_id),
                )
                done += 1
            except MatrixError as exc:
                logger.info("email invitation to %s not honoured: %s", invite.room_id, exc.error)
            await self._store.delete(invite.token)
        return done

    async def expire(self) -> int:
        """The periodic job: revoke invitations past their lifetime."""
        expired = await self._store.expired(self._clock.time_ms())
        for invite in expired:
            try:
                await self._events.send(
                    invite.room_id,
                    EventSpec(
                        "m.room.third_party_invite", {}, invite.sender, state_key=invite.token
                    ),
                )
            except MatrixError as exc:
                logger.info("could not revoke an expired invitation: %s", exc.error)
            await self._store.delete(invite.token)
        return len(expired)
