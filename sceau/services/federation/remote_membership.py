"""This server's users in rooms held elsewhere: join, invite out, reject an invite.

Joining a room this server does not hold takes the handshake with a
resident server: ``make_join`` (asking for every room version Sceau knows),
sign the template, ``send_join``, then check what came back (every event's
signatures and hashes, each state event against its own auth events, the
join against the state) before the room is written here
(:class:`~sceau.services.remote_rooms.RemoteRoomWriter`). Servers are tried
in order: those the client named (``server_name``/``via``), the one in the
room ID, the one that sent the invite, the ones the directory answered.

An invite to a user of another server is countersigned by that server
(``invite`` v2) before it is written; a refusal fails the invite alone.
"""

import logging
from typing import Any

from sceau.clock import Clock
from sceau.errors import MatrixError, forbidden, not_found
from sceau.protocol.auth_rules import AuthError, check_event_auth, server_name_of
from sceau.protocol.event_format import compute_event_id, new_server_event_id
from sceau.protocol.events import hash_and_sign_event
from sceau.protocol.hashing import check_content_hash
from sceau.protocol.pdu import minimum_key_validity, verify_event_signature
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion, get_room_version
from sceau.protocol.signing import SignatureError, SigningKey
from sceau.protocol.types import JsonDict, StateKey
from sceau.services.federation.client import (
    DestinationNotAllowed,
    FederationRequestError,
    encode_path,
)
from sceau.services.federation.missing_events import FederationRequester
from sceau.services.federation.pdu_checks import (
    PduFormatError,
    VerifyKeyLookup,
    check_format,
    check_signatures,
    event_id_of,
)
from sceau.services.remote_rooms import RemoteRoomWriter
from sceau.storage.state import StateStore

log = logging.getLogger(__name__)

V1 = "/_matrix/federation/v1"
V2 = "/_matrix/federation/v2"
STRIPPED_TYPES = (
    "m.room.create",
    "m.room.join_rules",
    "m.room.name",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.encryption",
    "m.room.topic",
)


class RemoteMembership:
    def __init__(
        self,
        *,
        server_name: str,
        signing_key: SigningKey,
        clock: Clock,
        client: FederationRequester,
        remote_rooms: RemoteRoomWriter,
        state: StateStore,
        verify_keys: VerifyKeyLookup,
    ) -> None:
        self._me = server_name
        self._key = signing_key
        self._clock = clock
        self._client = client
        self._remote_rooms = remote_rooms
        self._state = state
        self._verify_keys = verify_keys

    # ------------------------------------------------------------- directory

    async def resolve_alias(self, alias: str) -> tuple[str, list[str]]:
        """GET /_matrix/federation/v1/query/directory on the alias's server."""
        server = server_name_of(alias)
        try:
            answer = await self._client.request(
                "GET", server, V1 + "/query/directory", query={"room_alias": alias}
            )
        except FederationRequestError as exc:
            if exc.status == 404:
                raise not_found("Room alias not found") from None
            raise MatrixError(502, "M_UNKNOWN", f"Could not ask {server}: {exc.message}") from None
        room_id = answer.get("room_id") if isinstance(answer, dict) else None
        servers = answer.get("servers") if isinstance(answer, dict) else None
        if not isinstance(room_id, str):
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered no room for {alias}")
        listed = [s for s in servers if isinstance(s, str)] if isinstance(servers, list) else []
        return room_id, [server, *listed]

    # ------------------------------------------------------------------ join

    async def join(self, user_id: str, room_id: str, servers: list[str], content: JsonDict) -> str:
        """Join ``user_id`` to a room held elsewhere, through the first server that agrees."""
        candidates = list(dict.fromkeys([*servers, *self._implied_servers(room_id)]))
        candidates = [s for s in candidates if s and s != self._me]
        invite = await self._remote_rooms.invite_event(room_id, user_id)
        if invite is not None:
            candidates.append(server_name_of(str(invite[1].get("sender", ""))))
        if not candidates:
            raise not_found("No server to join this room through (give server_name or via)")
        failures = []
        for server in dict.fromkeys(candidates):
            try:
                await self._join_through(server, user_id, room_id, content)
                return room_id
            except (FederationRequestError, JoinRefused) as exc:
                log.info("join of %s to %s through %s failed: %s", user_id, room_id, server, exc)
                failures.append((server, exc))
        for server, failure in failures:
            if isinstance(failure, DestinationNotAllowed):
                raise forbidden(failure.message)
            if isinstance(failure, FederationRequestError) and failure.status == 403:
                raise forbidden(f"{server} refused the join: {failure.message}")
        named = ", ".join(f"{s} ({e})" for s, e in failures)
        raise MatrixError(404, "M_NOT_FOUND", f"Could not join the room through {named}")

    def _implied_servers(self, room_id: str) -> list[str]:
        return [server_name_of(room_id)] if ":" in room_id else []

    async def _join_through(
        self, server: str, user_id: str, room_id: str, content: JsonDict
    ) -> None:
        answer = await self._client.request(
            "GET",
            server,
            encode_path(V1 + "/make_join/{}/{}", room_id, user_id),
            query={"ver": list(KNOWN_ROOM_VERSIONS)},
        )
        version, event_id, join = self._sign_template(answer, user_id, room_id, "join", content)
        result = await self._client.request(
            "PUT", server, encode_path(V2 + "/send_join/{}/{}", room_id, event_id), body=join
        )
        if not isinstance(result, dict):
            raise JoinRefused("send_join answered no object")
        join = self._countersigned(result.get("event"), join, event_id, version)
        state = await self._checked_events(result.get("state"), version)
        chain = await self._checked_events(result.get("auth_chain"), version)
        everything = {**chain, **state}
        state = _authorised(state, everything, version)
        by_key: dict[StateKey, JsonDict] = {
            (str(p["type"]), str(p["state_key"])): p for p in state.values()
        }
        _check_create(by_key, room_id, version)
        try:
            check_event_auth(join, by_key, version)
        except AuthError as exc:
            raise JoinRefused(
                f"the join is not allowed by the state {server} sent: {exc}"
            ) from None
        await self._remote_rooms.join_remote_room(
            room_id, version, server, state, chain, event_id, join
        )

    def _sign_template(
        self, answer: object, user_id: str, room_id: str, membership: str, content: JsonDict
    ) -> tuple[RoomVersion, str, JsonDict]:
        """Our event from a make_* template: our content, our timestamp, our signature."""
        if not isinstance(answer, dict) or not isinstance(answer.get("event"), dict):
            raise JoinRefused(f"make_{membership} answered no event template")
        identifier = answer.get("room_version", "1")
        version = get_room_version(identifier) if isinstance(identifier, str) else None
        if version is None:
            raise JoinRefused(f"unsupported room version {identifier!r}")
        template = answer["event"]
        if (
            template.get("type") != "m.room.member"
            or template.get("state_key") != user_id
            or template.get("sender") != user_id
            or template.get("room_id") != room_id
        ):
            raise JoinRefused("the template is not for this user and room")
        extra = template.get("content") if isinstance(template.get("content"), dict) else {}
        pdu = {
            key: value
            for key, value in template.items()
            if key not in ("signatures", "hashes", "unsigned", "event_id")
        }
        pdu["content"] = {**extra, **content, "membership": membership}
        pdu["origin"] = self._me
        pdu["origin_server_ts"] = self._clock.time_ms()
        if version.server_event_ids:
            pdu["event_id"] = new_server_event_id(pdu, self._me, version)
        signed = hash_and_sign_event(
            pdu, origin=self._me, signing_key=self._key, room_version=version
        )
        return version, compute_event_id(signed, version), signed

    def _countersigned(
        self, returned: object, ours: JsonDict, event_id: str, version: RoomVersion
    ) -> JsonDict:
        """The resident server may add its signature (restricted joins); nothing else."""
        if not isinstance(returned, dict):
            return ours
        try:
            if compute_event_id(returned, version) != event_id:
                return ours
        except (ValueError, KeyError, TypeError):
            return ours
        return returned

    async def _checked_events(self, raw: object, version: RoomVersion) -> dict[str, JsonDict]:
        """Events of a join answer with valid format and signatures (wrong hashes: redacted)."""
        if not isinstance(raw, list):
            raise JoinRefused("the join answer lacks its state or auth chain")
        found: dict[str, JsonDict] = {}
        for item in raw:
            if not isinstance(item, dict):
                continue
            try:
                pdu = check_format(item, version)
                event_id = event_id_of(pdu, version)
                await check_signatures(pdu, event_id, version, self._verify_keys)
            except PduFormatError as exc:
                log.info("event of a join answer dropped: %s", exc)
                continue
            found[event_id] = (
                pdu if check_content_hash(pdu, version) else redact_event(pdu, version)
            )
        return found

    # ---------------------------------------------------------------- invites

    async def countersign_invite(
        self, room_id: str, version: RoomVersion, event_id: str, pdu: JsonDict
    ) -> JsonDict:
        """PUT /_matrix/federation/v2/invite to the invitee's server; its signature added."""
        target = server_name_of(str(pdu.get("state_key", "")))
        body = {
            "room_version": version.identifier,
            "event": pdu,
            "invite_room_state": await self._stripped_state(room_id, pdu),
        }
        try:
            answer = await self._client.request(
                "PUT", target, encode_path(V2 + "/invite/{}/{}", room_id, event_id), body=body
            )
        except DestinationNotAllowed as exc:
            raise forbidden(exc.message) from None
        except FederationRequestError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                raise forbidden(f"{target} refused the invite: {exc.message}") from None
            raise MatrixError(
                502, "M_UNKNOWN", f"Could not reach {target}: {exc.message}"
            ) from None
        returned = answer.get("event") if isinstance(answer, dict) else None
        if not isinstance(returned, dict) or compute_event_id(returned, version) != event_id:
            raise MatrixError(502, "M_UNKNOWN", f"{target} answered another event")
        signatures = returned.get("signatures")
        theirs = signatures.get(target) if isinstance(signatures, dict) else None
        if not isinstance(theirs, dict) or not await self._verified(
            returned, target, theirs, version
        ):
            raise MatrixError(502, "M_UNKNOWN", f"{target} did not sign the invite")
        merged = dict(pdu.get("signatures") or {})
        merged[target] = theirs
        return {**pdu, "signatures": merged}

    async def _verified(
        self, pdu: JsonDict, server: str, signatures: dict[str, Any], version: RoomVersion
    ) -> bool:
        for key_id in signatures:
            key = await self._verify_keys(server, key_id, minimum_key_validity(pdu, version))
            if key is None:
                continue
            try:
                verify_event_signature(pdu, version, server, key_id, key)
                return True
            except SignatureError:
                continue
        return False

    async def _stripped_state(self, room_id: str, invite: JsonDict) -> list[JsonDict]:
        state = await self._state.current_state_ids(room_id, list(STRIPPED_TYPES))
        sender_member = await self._state.current_state_event_id(
            room_id, "m.room.member", str(invite.get("sender"))
        )
        ids = [*state.values(), *([sender_member] if sender_member else [])]
        pdus = await self._remote_rooms.load(ids)
        return [
            {k: p[k] for k in ("type", "state_key", "content", "sender") if k in p}
            for p in pdus.values()
        ]

    # ----------------------------------------------------------- rejections

    async def reject_invite(self, user_id: str, room_id: str, content: JsonDict) -> None:
        """make_leave/send_leave through the inviting server, then the leave here."""
        invite = await self._remote_rooms.invite_event(room_id, user_id)
        if invite is None:
            raise forbidden("You are not invited to this room")
        server = server_name_of(str(invite[1].get("sender", "")))
        try:
            answer = await self._client.request(
                "GET", server, encode_path(V1 + "/make_leave/{}/{}", room_id, user_id)
            )
            version, event_id, leave = self._sign_template(
                answer, user_id, room_id, "leave", content
            )
            await self._client.request(
                "PUT", server, encode_path(V2 + "/send_leave/{}/{}", room_id, event_id), body=leave
            )
        except (FederationRequestError, JoinRefused) as exc:
            raise MatrixError(
                502, "M_UNKNOWN", f"Could not reject the invite through {server}: {exc}"
            ) from None
        await self._remote_rooms.store_membership(room_id, version, event_id, leave, server)


class JoinRefused(Exception):
    """A resident server's answer that cannot be used (the next server is tried)."""


def _authorised(
    state: dict[str, JsonDict], everything: dict[str, JsonDict], version: RoomVersion
) -> dict[str, JsonDict]:
    """State events allowed by their own auth events (those sent with them)."""
    kept = {}
    for event_id, pdu in state.items():
        if pdu.get("type") == "m.room.create":
            kept[event_id] = pdu
            continue
        auth: dict[StateKey, JsonDict] = {}
        for aid in pdu.get("auth_events", []):
            ref = aid[0] if isinstance(aid, list) and aid else aid
            found = everything.get(ref) if isinstance(ref, str) else None
            if found is not None and isinstance(found.get("state_key"), str):
                auth[(str(found["type"]), found["state_key"])] = found
        if version.room_id_from_create_event:
            create = next(
                (p for p in everything.values() if p.get("type") == "m.room.create"), None
            )
            if create is not None:
                auth[("m.room.create", "")] = create
        try:
            check_event_auth(pdu, auth, version)
        except AuthError as exc:
            log.info("state event %s of a join answer dropped: %s", event_id, exc)
            continue
        kept[event_id] = pdu
    return kept


def _check_create(state: dict[StateKey, JsonDict], room_id: str, version: RoomVersion) -> None:
    create = state.get(("m.room.create", ""))
    if create is None:
        raise JoinRefused("the room state has no create event")
    if version.room_id_from_create_event:
        if "!" + compute_event_id(create, version)[1:] != room_id:
            raise JoinRefused("the create event is not this room's")
    elif create.get("room_id") != room_id:
        raise JoinRefused("the create event is not this room's")
