"""Invitations by email, for people who have no account yet (external partners above all).

An agent invites an address. When it belongs to an account of this server, that
account is simply invited. Otherwise the server, acting as its own identity
server, follows the spec's third-party invite flow: it sends an
``m.room.third_party_invite`` state event whose display name masks the address
(``j***@p***.fr``) and whose public key is this server's, mails the invitee, and
keeps the invitation until it expires. When the address's owner registers here,
each pending invitation becomes an ``m.room.member`` invite carrying the
``signed`` block the authorization rules check against that key.

An address that belongs to another server (by ``policy.email_routing``: the
external partners' server above all) is that server's to hold. The inviter's
server calls its ``store-invite`` (signed over the federation); that server
mails the invitee, answers its own ``/info`` with ``invited``, and signs with
its own key. When the invitee registers there, it signs the ``signed`` block
and calls ``exchange_third_party_invite`` on the inviter's server, which sends
the membership into the room; the federation's invite carries it back.
"""

import logging
import secrets
from typing import Any

from sceau.clock import Clock
from sceau.config import Config
from sceau.errors import MatrixError, bad_json, forbidden, invalid_param
from sceau.protocol.auth_rules import server_name_of
from sceau.protocol.signing import SigningKey, sign_json
from sceau.protocol.third_party_invites import verify_third_party_invite
from sceau.protocol.types import JsonDict
from sceau.services.email_policy import normalise_email
from sceau.services.events import EventService, EventSpec
from sceau.services.mailer import Mailer, MailError
from sceau.services.policy.access_rules import RESTRICTED, RoomAccessPolicy, refusal
from sceau.services.policy.email_invites_remote import (
    AddressBound,
    EmailInviteFederation,
    Unreachable,
)
from sceau.services.policy.email_routing import EmailHome, EmailRouter
from sceau.services.ratelimit import RateLimiter
from sceau.services.rooms import RoomService
from sceau.storage.database import Database
from sceau.storage.email_invites import EmailInvite, EmailInviteStore
from sceau.storage.events import EventStore
from sceau.storage.state import StateStore
from sceau.storage.threepids import ThreepidStore

logger = logging.getLogger(__name__)

PUBKEY_PATH = "_matrix/identity/v2/pubkey"
THIRD_PARTY_INVITE = "m.room.third_party_invite"


def mask_address(address: str) -> str:
    """What other members see of an invited address: ``jean.dupont@prestataire.fr`` ->
    ``j***@p***.fr``."""
    local, _, domain = address.partition("@")
    labels = domain.split(".")
    head = labels[0][:1] + "***" if labels else "***"
    return f"{local[:1]}***@{'.'.join([head, *labels[1:]])}"


def _label(value: Any) -> str | None:
    """A name another server sent for the email (room, inviter), if it is one."""
    return value.strip() if isinstance(value, str) and value.strip() else None


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
        state: StateStore,
        event_store: EventStore,
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
        self._state = state
        self._event_store = event_store
        self._access = access
        self._mailer = mailer
        self._ratelimiter = ratelimiter
        self._key = signing_key
        self._router = EmailRouter(config)
        self._me = config.server_name
        #: The other servers' identity and exchange endpoints (set when federation is on).
        self.remote: EmailInviteFederation | None = None

    def public_key(self) -> str:
        return self._key.verify_key_base64

    def _key_entry(self) -> JsonDict:
        key_url = f"{self._config.base_url}{PUBKEY_PATH}/isvalid"
        return {"public_key": self.public_key(), "key_validity_url": key_url}

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
        home = await self._check_admitted(room_id, email)
        if home.server != self._me:
            self._check_federated(home.server)
            await self._invite_elsewhere(sender, room_id, email, home.server)
            return
        token = secrets.token_urlsafe(24)
        display_name = mask_address(email)
        await self._send_invite_event(sender, room_id, token, display_name, [self._key_entry()])
        invite = self._new_invite(token, room_id, sender, email, display_name)
        async with self._db.transaction() as txn:
            await self._store.add(txn, invite)
        await self._mail(invite, *await self._labels(room_id, sender))

    def _check_federated(self, server: str) -> None:
        """An address of another server needs that server: refuse what could never be redeemed.

        Only the address's server can hold the invitation and see its owner
        register; kept here, it would wait for a registration that cannot happen.
        """
        if self.remote is None:
            raise refusal(
                "ADDRESS_SERVER_NOT_FEDERATED",
                f"Cette adresse relève du serveur {server}, et ce serveur-ci ne fédère avec"
                " aucun autre : l'invitation ne pourrait jamais aboutir",
                f"This address belongs to {server}, and federation is off on this server:"
                " the invitation could never be redeemed",
            )
        if not self.remote.allows(server):
            raise refusal(
                "ADDRESS_SERVER_NOT_FEDERATED",
                f"Cette adresse relève du serveur {server}, absent de la liste des serveurs"
                " fédérés (federation.allow) : l'invitation ne pourrait jamais aboutir",
                f"This address belongs to {server}, which is not in this server's"
                " federation.allow: the invitation could never be redeemed",
            )

    async def _invite_elsewhere(self, sender: str, room_id: str, email: str, server: str) -> None:
        """The address is another server's: that server holds the invitation and mails it."""
        assert self.remote is not None
        if await self._state.membership(room_id, sender) != "join":
            raise forbidden("You are not a member of this room")
        body: JsonDict = {"medium": "email", "address": email, "room_id": room_id, "sender": sender}
        room_name, sender_name = await self._labels(room_id, sender)
        if room_name:
            body["room_name"] = room_name
        if sender_name:
            body["sender_display_name"] = sender_name
        try:
            stored = await self.remote.store_invite(server, body)
        except AddressBound as bound:
            await self._rooms.invite(sender, room_id, bound.user_id)
            return
        await self._send_invite_event(
            sender, room_id, stored.token, stored.display_name, stored.public_keys
        )
        # Kept here too, only so that the expiry job revokes the event in this room.
        invite = self._new_invite(stored.token, room_id, sender, email, stored.display_name)
        async with self._db.transaction() as txn:
            await self._store.add(txn, invite)

    async def _send_invite_event(
        self, sender: str, room_id: str, token: str, display_name: str, keys: list[JsonDict]
    ) -> None:
        content: dict[str, Any] = {
            "display_name": display_name,
            "key_validity_url": keys[0].get("key_validity_url", ""),
            "public_key": keys[0]["public_key"],
            "public_keys": keys,
        }
        await self._events.send(
            room_id, EventSpec(THIRD_PARTY_INVITE, content, sender, state_key=token)
        )

    def _new_invite(
        self, token: str, room_id: str, sender: str, email: str, display_name: str
    ) -> EmailInvite:
        now = self._clock.time_ms()
        lifetime = self._config.policy.email_invite_lifetime_ms
        return EmailInvite(token, room_id, sender, email, display_name, now, now + lifetime)

    async def _check_admitted(self, room_id: str, email: str) -> EmailHome:
        home = self._router.home_of(email)
        if home is None:
            raise MatrixError(
                403, "M_THREEPID_DENIED", "No server of this administration takes this address"
            )
        if not self._access.is_external(f"@x:{home.server}"):
            return home
        facts = await self._access.facts(room_id)
        if facts.rule in (None, RESTRICTED) and self._config.policy.room_access_rules:
            raise refusal(
                "EXTERNAL_NOT_ALLOWED",
                "Ce salon n'est pas ouvert aux partenaires externes",
                "This room is closed to external partners",
            )
        return home

    async def _labels(self, room_id: str, sender: str) -> tuple[str | None, str | None]:
        """The room's name and the inviter's display name in it, for the email."""
        names = []
        for kind, key, field in (
            ("m.room.name", "", "name"),
            ("m.room.member", sender, "displayname"),
        ):
            event_id = await self._state.current_state_event_id(room_id, kind, key)
            found = await self._event_store.get_event(event_id) if event_id else None
            value = (found.pdu.get("content") or {}).get(field) if found else None
            names.append(value if isinstance(value, str) and value else None)
        return names[0], names[1]

    async def _mail(
        self, invite: EmailInvite, room_name: str | None, sender_name: str | None
    ) -> None:
        if not self._mailer.configured:
            return
        link = f"{self._config.base_url}#/register?email={invite.address}"
        who = f"{sender_name[:100]} ({invite.sender})" if sender_name else invite.sender
        where_fr = f"dans « {room_name[:100]} »" if room_name else "à échanger"
        where_en = f'to "{room_name[:100]}"' if room_name else "to chat"
        text = (
            f"{who} vous invite {where_fr} sur {self._config.server_name}.\n"
            f"{who} invites you {where_en} on {self._config.server_name}.\n\n"
            f"Créez votre compte avec cette adresse / Create your account with this address:\n"
            f"{link}\n"
        )
        try:
            await self._mailer.send(invite.address, "Invitation", text)
        except MailError as exc:
            logger.warning("invitation email for %s failed: %s", invite.room_id, exc)

    async def claim(self, user_id: str, address: str) -> int:
        """After ``user_id`` bound ``address``: turn its pending invitations into memberships.

        An invitation into a room of this server is sent here; one held for
        another server's room goes back to the inviter's server (the spec's
        ``onbind`` step, done in process since this server is the identity
        server too).
        """
        done = 0
        for invite in await self._store.pending_for(address, self._clock.time_ms()):
            done += await self._claim_one(invite, user_id)
        return done

    async def retry_claims(self) -> int:
        """The periodic job: redeem again what an unreachable inviter's server left pending."""
        done = 0
        for invite, user_id in await self._store.claimable(self._clock.time_ms()):
            done += await self._claim_one(invite, user_id)
        return done

    async def _claim_one(self, invite: EmailInvite, user_id: str) -> int:
        signed = sign_json({"mxid": user_id, "token": invite.token}, self._me, self._key)
        content = {
            "membership": "invite",
            "third_party_invite": {"display_name": invite.display_name, "signed": signed},
        }
        try:
            await self._redeem(invite, user_id, content)
        except Unreachable as exc:
            logger.info("email invitation to %s kept for later: %s", invite.room_id, exc.error)
            return 0
        except MatrixError as exc:
            logger.info("email invitation to %s not honoured: %s", invite.room_id, exc.error)
            await self._store.delete(invite.token)
            return 0
        await self._store.delete(invite.token)
        return 1

    async def _redeem(self, invite: EmailInvite, user_id: str, content: JsonDict) -> None:
        spec = EventSpec("m.room.member", content, invite.sender, state_key=user_id)
        inviter_server = server_name_of(invite.sender)
        if inviter_server == self._me:
            await self._events.send(invite.room_id, spec)
            return
        if self.remote is None:
            raise forbidden("Federation with other servers is not enabled")
        event = {
            "type": spec.event_type,
            "room_id": invite.room_id,
            "sender": spec.sender,
            "state_key": user_id,
            "content": content,
        }
        await self.remote.exchange(inviter_server, invite.room_id, event)

    # ------------------------------------------------ identity server for other servers

    async def store_for(self, origin: str, body: JsonDict) -> JsonDict:
        """POST /_matrix/identity/v2/store-invite, from another server of the federation.

        The address must be this server's (by the mapping); the sender must be
        a user of the calling server. This server holds the invitation, mails
        it, and will sign its redemption with its own key.
        """
        medium, address = body.get("medium"), body.get("address")
        room_id, sender = body.get("room_id"), body.get("sender")
        if medium != "email":
            raise MatrixError(400, "M_UNRECOGNIZED", "Only email invitations are supported")
        if not isinstance(address, str) or not isinstance(room_id, str):
            raise invalid_param("address and room_id are required")
        if not isinstance(sender, str) or server_name_of(sender) != origin:
            raise forbidden(f"The sender must be a user of {origin}")
        email = normalise_email(address)
        if email is None:
            raise invalid_param("Not a valid email address")
        home = self._router.home_of(email)
        if home is None or home.server != self._me:
            where = home.server if home is not None else "no server"
            raise MatrixError(
                403, "M_THREEPID_DENIED", f"This address belongs to {where}, not {self._me}"
            )
        owner = await self._threepids.owner("email", email)
        if owner is not None:
            raise MatrixError(
                400, "M_THREEPID_IN_USE", "This address already has an account", mxid=owner
            )
        self._ratelimiter.check("email", sender)
        invite = self._new_invite(
            secrets.token_urlsafe(24), room_id, sender, email, mask_address(email)
        )
        async with self._db.transaction() as txn:
            await self._store.add(txn, invite)
        await self._mail(
            invite, _label(body.get("room_name")), _label(body.get("sender_display_name"))
        )
        return {
            "token": invite.token,
            "display_name": invite.display_name,
            "public_keys": [self._key_entry()],
        }

    async def exchange_received(self, origin: str, room_id: str, event: JsonDict) -> None:
        """PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}

        The invitee's server redeems an invitation a user of this server sent:
        the membership goes into the room as the inviter's, and the room's
        authorization rules check its ``signed`` block against the keys of the
        ``m.room.third_party_invite`` event it names.
        """
        content = event.get("content")
        sender, target = event.get("sender"), event.get("state_key")
        if (
            event.get("type") != "m.room.member"
            or event.get("room_id") != room_id
            or not isinstance(content, dict)
            or content.get("membership") != "invite"
            or not isinstance(sender, str)
            or not isinstance(target, str)
        ):
            raise bad_json("The body must be the invite membership of the room")
        if server_name_of(target) != origin:
            raise forbidden(f"{target} is not a user of {origin}")
        if server_name_of(sender) != self._me:
            raise forbidden(f"{sender} is not a user of {self._me}")
        third = content.get("third_party_invite")
        signed = third.get("signed") if isinstance(third, dict) else None
        if not isinstance(signed, dict) or signed.get("mxid") != target:
            raise bad_json("third_party_invite.signed must name the invitee")
        invitation = await self._invitation(room_id, signed.get("token"), sender)
        if not verify_third_party_invite(signed, invitation):
            raise forbidden("The invitation's signature does not match its keys")
        display_name = invitation.get("display_name")
        redeemed = {"display_name": display_name, "signed": signed}
        await self._rooms.invite(sender, room_id, target, third_party_invite=redeemed)
        await self._store.delete(str(signed["token"]))

    async def on_bind(self, body: JsonDict) -> int:
        """PUT /_matrix/federation/v1/3pid/onbind, from an identity server.

        An identity server (another than this one, typically) tells the
        invitee's server that an address was bound to one of its users, with
        the invitations it held for that address. Each becomes an invite
        membership: sent here when the inviter is a user of this server,
        after checking the ``signed`` block against the keys of the room's
        ``m.room.third_party_invite``; otherwise passed to the inviter's
        server (``exchange_third_party_invite``), which checks the same. One
        invitation that fails does not hold back the others. Returns how many
        went through.
        """
        mxid, invites = body.get("mxid"), body.get("invites")
        if body.get("medium") != "email" or not isinstance(body.get("address"), str):
            raise bad_json("medium must be email, with an address")
        if not isinstance(mxid, str) or not isinstance(invites, list):
            raise bad_json("mxid and invites are required")
        if server_name_of(mxid) != self._me:
            raise invalid_param(f"{mxid} is not a user of {self._me}")
        done = 0
        for invite in invites:
            try:
                await self._bind_one(mxid, invite)
            except MatrixError as exc:
                logger.info("onbind: an invitation for %s was not honoured: %s", mxid, exc.error)
                continue
            done += 1
        return done

    async def _bind_one(self, mxid: str, invite: Any) -> None:
        """One invitation of an onbind call: check it, then send or pass on its membership."""
        if not isinstance(invite, dict):
            raise bad_json("Each invitation must be an object")
        room_id, sender, signed = invite.get("room_id"), invite.get("sender"), invite.get("signed")
        if not isinstance(room_id, str) or not isinstance(sender, str):
            raise bad_json("room_id and sender are required")
        if not isinstance(signed, dict) or signed.get("mxid") != mxid:
            raise bad_json("signed must name the bound Matrix ID")
        if invite.get("mxid", mxid) != mxid:
            raise bad_json("The invitation is for another Matrix ID")
        inviter_server = server_name_of(sender)
        if inviter_server != self._me:
            event = {
                "type": "m.room.member",
                "room_id": room_id,
                "sender": sender,
                "state_key": mxid,
                "content": {"membership": "invite", "third_party_invite": {"signed": signed}},
            }
            if self.remote is None or not self.remote.allows(inviter_server):
                raise forbidden(f"Federation with {inviter_server} is not allowed")
            await self.remote.exchange(inviter_server, room_id, event)
            return
        invitation = await self._invitation(room_id, signed.get("token"), sender)
        if not verify_third_party_invite(signed, invitation):
            raise forbidden("The invitation's signature does not match its keys")
        redeemed = {"display_name": invitation.get("display_name"), "signed": signed}
        await self._rooms.invite(sender, room_id, mxid, third_party_invite=redeemed)
        await self._store.delete(str(signed["token"]))

    async def _invitation(self, room_id: str, token: Any, sender: str) -> JsonDict:
        """The content of the pending ``m.room.third_party_invite`` ``token`` names."""
        event_id = None
        if isinstance(token, str):
            event_id = await self._state.current_state_event_id(room_id, THIRD_PARTY_INVITE, token)
        found = await self._event_store.get_event(event_id) if event_id else None
        content = found.pdu.get("content") if found is not None else None
        if found is None or not content or found.pdu.get("sender") != sender:
            raise forbidden("No pending invitation by email matches this token")
        return dict(content)

    async def expire(self) -> int:
        """The periodic job: revoke invitations past their lifetime."""
        expired = await self._store.expired(self._clock.time_ms())
        for invite in expired:
            if server_name_of(invite.sender) != self._me:
                await self._store.delete(invite.token)  # the inviter's server revokes its event
                continue
            try:
                await self._events.send(
                    invite.room_id,
                    EventSpec(THIRD_PARTY_INVITE, {}, invite.sender, state_key=invite.token),
                )
            except MatrixError as exc:
                logger.info("could not revoke an expired invitation: %s", exc.error)
            await self._store.delete(invite.token)
        return len(expired)
