"""The resident side of the membership handshakes: make_/send_ join, leave, knock; invite.

Another server's user cannot build a membership event for a room it does
not hold, so it asks a resident server (this one) for a template
(``make_join``), signs it, and hands it back (``send_join``); this server
checks it like any received PDU and places it in the room's DAG, then
answers with the room state the joining server needs. Leaving and knocking
work the same way. An invite goes the other way: this server's user is
invited into a room of another server, which asks this server to sign the
invite; the invite is then shown to the user until they answer.

A restricted room (``restricted``, v8+; ``knock_restricted``, v10+) lets
in a user who is a member of one of the rooms its join rules allow. The
resident server checks that in those rooms as it sees them, names one of
its own members who may invite in ``join_authorised_via_users_server`` of
the ``make_join`` template, and signs the join on ``send_join`` (the auth
rules then require that signature and that member's power to invite).
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.errors import MatrixError, bad_json, forbidden, not_found
from sceau.protocol.auth_rules import AuthError, server_name_of
from sceau.protocol.events import add_signature
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.signing import SigningKey, sign_json
from sceau.protocol.types import JsonDict
from sceau.services.event_graph import EventGraph, ReceivedEvent
from sceau.services.event_types import EventSpec
from sceau.services.events import EventService, PduRefused
from sceau.services.federation.pdu_checks import (
    PduFormatError,
    VerifyKeyLookup,
    check_format,
    check_signatures,
    event_id_of,
)
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.services.federation.room_serving import FederationRoomReader
from sceau.services.remote_rooms import RemoteRoomWriter
from sceau.services.room_power import room_power
from sceau.storage.accounts import AccountStore
from sceau.storage.events import EventStore
from sceau.storage.state import StateStore

log = logging.getLogger(__name__)

MEMBERSHIPS = ("join", "leave", "knock")
KNOCK_STATE_TYPES = (
    "m.room.create",
    "m.room.join_rules",
    "m.room.name",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.encryption",
    "m.room.topic",
)


def incompatible(version: str) -> MatrixError:
    return MatrixError(
        400,
        "M_INCOMPATIBLE_ROOM_VERSION",
        "Your server does not support this room's version",
        room_version=version,
    )


class MembershipHandshake:
    def __init__(
        self,
        *,
        server_name: str,
        signing_key: SigningKey,
        events: EventService,
        graph: EventGraph,
        state: StateStore,
        event_store: EventStore,
        accounts: AccountStore,
        reader: FederationRoomReader,
        pipeline: PduPipeline,
        remote_rooms: RemoteRoomWriter,
        verify_keys: VerifyKeyLookup,
    ) -> None:
        self._me = server_name
        self._key = signing_key
        self._events = events
        self._graph = graph
        self._state = state
        self._event_store = event_store
        self._accounts = accounts
        self._reader = reader
        self._pipeline = pipeline
        self._remote_rooms = remote_rooms
        self._verify_keys = verify_keys
        #: Forwards an accepted membership to the room's other servers (set by the wiring).
        self.forward: Any = None
        #: The room's own rules (policy) that a local event must pass: a join or knock
        #: made through this server for another server's user passes them too.
        self.local_checks: list[Callable[[str, EventSpec], Awaitable[None]]] = []

    async def _check_local_rules(self, room_id: str, user_id: str, content: JsonDict) -> None:
        if content.get("membership") not in ("join", "knock"):
            return
        spec = EventSpec("m.room.member", content, user_id, state_key=user_id)
        for check in self.local_checks:
            await check(room_id, spec)

    async def _resident_version(self, room_id: str) -> RoomVersion:
        version = await self._reader.room_version(room_id)
        joined = await self._state.members(room_id)
        if not any(server_name_of(m) == self._me for m in joined):
            raise not_found(f"{self._me} is not in room {room_id}")
        return version

    async def make(
        self, origin: str, room_id: str, user_id: str, membership: str, versions: list[str]
    ) -> dict[str, Any]:
        """GET /_matrix/federation/v1/make_{membership}/{roomId}/{userId}"""
        if server_name_of(user_id) != origin:
            raise forbidden(f"{user_id} is not a user of {origin}")
        version = await self._resident_version(room_id)
        if membership in ("join", "knock") and version.identifier not in versions:
            raise incompatible(version.identifier)
        content: JsonDict = {"membership": membership}
        await self._check_local_rules(room_id, user_id, dict(content))
        if membership == "join":
            authoriser = await self._restricted_authoriser(room_id, user_id, version)
            if authoriser is not None:
                content["join_authorised_via_users_server"] = authoriser
        _version, template = await self._remote_rooms.template(
            room_id, user_id, "m.room.member", user_id, content
        )
        draft = await self._events.peek_draft(room_id)
        checked = template
        if "join_authorised_via_users_server" in content:
            # This server signs the join on send_join: count its signature as there.
            checked = {**template, "signatures": {self._me: {"ed25519:send_join": ""}}}
        try:
            await self._graph.auth_against(version, checked, draft.state)
        except AuthError as exc:
            raise forbidden(f"{user_id} may not {membership} this room: {exc}") from None
        return {"event": template, "room_version": version.identifier}

    async def send(
        self, origin: str, room_id: str, event_id: str, raw: object, membership: str
    ) -> dict[str, Any]:
        """PUT /_matrix/federation/v2/send_{membership}/{roomId}/{eventId}"""
        if not isinstance(raw, dict):
            raise bad_json("The body must be the signed event")
        version = await self._resident_version(room_id)
        if membership == "join":
            raw = await self._countersign_restricted(room_id, raw, version)
        try:
            checked_version, computed, pdu = await self._pipeline.check(raw)
        except PduFormatError as exc:
            raise bad_json(f"Invalid event: {exc}") from None
        if computed != event_id or pdu.get("room_id") != room_id:
            raise bad_json("The event's ID or room does not match the request")
        content = pdu.get("content") or {}
        sender = pdu.get("sender")
        if (
            pdu.get("type") != "m.room.member"
            or content.get("membership") != membership
            or pdu.get("state_key") != sender
            or server_name_of(str(sender)) != origin
        ):
            raise bad_json(f"The event is not a {membership} of a user of {origin}")
        await self._check_local_rules(room_id, str(sender), content)
        try:
            await self._pipeline.auth_with_own_auth_events(origin, checked_version, event_id, pdu)
            await self._events.receive(room_id, ReceivedEvent(event_id, pdu, origin))
        except (AuthError, PduRefused) as exc:
            raise forbidden(f"The {membership} is not allowed: {exc}") from None
        if self.forward is not None:
            await self.forward(room_id, pdu, {origin})
        if membership == "join":
            return await self._join_answer(origin, room_id, event_id, pdu)
        if membership == "knock":
            return {"knock_room_state": await self._stripped(room_id)}
        del version
        return {}

    async def _restricted_authoriser(
        self, room_id: str, user_id: str, version: RoomVersion
    ) -> str | None:
        """The local member who lets ``user_id`` into a restricted room, or None if not needed.

        None when the room is not restricted or the user is already invited
        or joined. Raises 400 ``M_UNABLE_TO_AUTHORISE_JOIN`` when this server
        is in none of the allowed rooms (it cannot tell), 403 when the user
        is in none of them, 400 ``M_UNABLE_TO_GRANT_JOIN`` when no local
        member may invite (another server may).
        """
        rules_id = await self._state.current_state_event_id(room_id, "m.room.join_rules", "")
        rules = (await self._graph.load_pdus([rules_id])).get(rules_id) if rules_id else None
        content = rules.get("content") if rules is not None else None
        rule = content.get("join_rule") if isinstance(content, dict) else None
        if not (
            (rule == "restricted" and version.restricted)
            or (rule == "knock_restricted" and version.knock_restricted)
        ):
            return None
        if await self._state.membership(room_id, user_id) in ("join", "invite"):
            return None
        assert isinstance(content, dict)
        held = [r for r in _allowed_room_ids(content) if await self._held(r)]
        if not held:
            raise MatrixError(
                400,
                "M_UNABLE_TO_AUTHORISE_JOIN",
                f"{self._me} is in none of the rooms that give access to {room_id}",
            )
        if not any([await self._state.membership(r, user_id) == "join" for r in held]):
            raise forbidden(f"{user_id} is in none of the rooms that give access to {room_id}")
        power = await room_power(self._state, self._event_store, room_id)
        for member in sorted(await self._state.members(room_id, "join")):
            if server_name_of(member) == self._me and power.may(member, "invite"):
                return member
        raise MatrixError(
            400,
            "M_UNABLE_TO_GRANT_JOIN",
            f"No user of {self._me} may let {user_id} in: try another server",
        )

    async def _countersign_restricted(
        self, room_id: str, raw: dict[str, Any], version: RoomVersion
    ) -> dict[str, Any]:
        """A join vouched for by one of our users gets our signature, if it may be let in."""
        content = raw.get("content")
        via = content.get("join_authorised_via_users_server") if isinstance(content, dict) else None
        if not version.restricted or not isinstance(via, str) or server_name_of(via) != self._me:
            return raw
        sender = raw.get("sender")
        if not isinstance(sender, str) or not isinstance(raw.get("signatures"), dict):
            raise bad_json("The join has no sender or signatures")
        if await self._restricted_authoriser(room_id, sender, version) is None:
            return raw  # not a restricted join here: the auth rules judge it unsigned
        return add_signature(raw, origin=self._me, signing_key=self._key, room_version=version)

    async def _join_answer(
        self, origin: str, room_id: str, event_id: str, pdu: JsonDict
    ) -> dict[str, Any]:
        _stored, state = await self._reader.state_before(room_id, event_id)
        chain = await self._reader.auth_chain_ids([*state.values(), event_id])
        pdus = await self._graph.load_pdus([*state.values(), *chain])
        members = await self._state.members(room_id)
        return {
            "origin": self._me,
            "event": pdu,
            "state": [pdus[e] for e in sorted(state.values()) if e in pdus],
            "auth_chain": [pdus[e] for e in sorted(chain) if e in pdus],
            "members_omitted": False,
            "servers_in_room": sorted({server_name_of(m) for m in members}),
        }

    async def _stripped(self, room_id: str) -> list[JsonDict]:
        state = await self._state.current_state_ids(room_id, list(KNOCK_STATE_TYPES))
        pdus = await self._graph.load_pdus(state.values())
        return [
            {k: p[k] for k in ("type", "state_key", "content", "sender") if k in p}
            for p in pdus.values()
        ]

    # ------------------------------------------------------------------ invites

    async def invite(self, origin: str, room_id: str, event_id: str, body: JsonDict) -> JsonDict:
        """PUT /_matrix/federation/v2/invite/{roomId}/{eventId}: sign and keep the invite."""
        identifier = body.get("room_version")
        if not isinstance(identifier, str):
            raise bad_json("'room_version' must be a string")
        version = get_room_version(identifier)
        if version is None:
            raise incompatible(identifier)
        raw = body.get("event")
        stripped = body.get("invite_room_state", [])
        if not isinstance(raw, dict) or not isinstance(stripped, list):
            raise bad_json("'event' must be an object and 'invite_room_state' a list")
        try:
            pdu = check_format(raw, version)
            computed = event_id_of(pdu, version)
            await check_signatures(pdu, computed, version, self._verify_keys)
        except PduFormatError as exc:
            raise bad_json(f"Invalid invite: {exc}") from None
        target = pdu.get("state_key")
        if (
            computed != event_id
            or pdu.get("room_id") != room_id
            or pdu.get("type") != "m.room.member"
            or (pdu.get("content") or {}).get("membership") != "invite"
            or server_name_of(str(pdu.get("sender"))) != origin
            or not isinstance(target, str)
        ):
            raise bad_json("The event is not an invite sent by a user of the calling server")
        if server_name_of(target) != self._me or not await self._accounts.user_exists(target):
            raise not_found(f"No user {target} here")
        signed = {
            **pdu,
            "signatures": sign_json(redact_event(pdu, version), self._me, self._key)["signatures"],
        }
        room = await self._reader.room_version(room_id) if await self._held(room_id) else None
        if room is None:
            await self._remote_rooms.store_invite(
                room_id, version, event_id, signed, stripped, origin
            )
        else:
            # A room held here: the invite is an ordinary PDU of it.
            await self._pipeline.receive_pdus(origin, [signed])
        return signed

    async def _held(self, room_id: str) -> bool:
        members = await self._state.members(room_id)
        return any(server_name_of(m) == self._me for m in members)


def _allowed_room_ids(join_rules: JsonDict) -> list[str]:
    """The rooms whose members a restricted room lets in (``m.room_membership`` entries)."""
    allow = join_rules.get("allow")
    if not isinstance(allow, list):
        return []
    found = [
        entry["room_id"]
        for entry in allow
        if isinstance(entry, dict)
        and entry.get("type") == "m.room_membership"
        and isinstance(entry.get("room_id"), str)
    ]
    return list(dict.fromkeys(found))
