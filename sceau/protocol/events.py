"""Building, hashing and signing PDUs, and choosing their auth events.

Everything here is deterministic: the timestamp, the signing key and the
graph position are all passed in by the caller.
"""

import copy
from typing import Any

from sceau.protocol.canonical_json import canonical_copy
from sceau.protocol.event_format import (
    auth_event_ids,
    event_references,
    new_server_event_id,
    prev_event_ids,
)
from sceau.protocol.hashing import add_content_hash, compute_event_id
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.signing import SigningKey, sign_json
from sceau.protocol.types import JsonDict, StateKey

CREATE = "m.room.create"
MEMBER = "m.room.member"
POWER_LEVELS = "m.room.power_levels"
JOIN_RULES = "m.room.join_rules"
THIRD_PARTY_INVITE = "m.room.third_party_invite"
REDACTION = "m.room.redaction"


def hash_and_sign_event(
    pdu: JsonDict, *, origin: str, signing_key: SigningKey, room_version: RoomVersion
) -> JsonDict:
    """Return a copy of ``pdu`` with its content hash and ``origin``'s signature.

    The signature covers the redacted event (which includes the content
    hash), so it stays verifiable after the event is redacted.
    """
    hashed = add_content_hash(pdu)
    signed_redacted = sign_json(redact_event(hashed, room_version), origin, signing_key)
    return {**hashed, "signatures": signed_redacted["signatures"]}


def add_signature(
    pdu: JsonDict, *, origin: str, signing_key: SigningKey, room_version: RoomVersion
) -> JsonDict:
    """Return a copy of someone else's ``pdu`` also signed by ``origin``.

    For events a resident server countersigns (invites, restricted joins):
    the content hash and the other signatures are left as they are.
    """
    signed_redacted = sign_json(redact_event(pdu, room_version), origin, signing_key)
    return {**pdu, "signatures": signed_redacted["signatures"]}


def complete_event_template(
    template: JsonDict, *, origin: str, signing_key: SigningKey, room_version: RoomVersion
) -> tuple[str, JsonDict]:
    """Turn a ``make_join``/``make_leave``/``make_knock`` template into a signed PDU.

    References are rewritten in the room version's form only where the
    template used the other one; in v1/v2 the event gets an ``event_id`` of
    ``origin`` before it is hashed and signed. Returns ``(event_id, pdu)``.
    """
    dropped = ("signatures", "hashes", "unsigned", "event_id")
    pdu = {key: copy.deepcopy(value) for key, value in template.items() if key not in dropped}
    for field, ids in (
        ("auth_events", auth_event_ids(template)),
        ("prev_events", prev_event_ids(template)),
    ):
        if not _in_version_form(template.get(field), room_version):
            pdu[field] = event_references(ids, room_version)
    if room_version.server_event_ids:
        pdu["event_id"] = new_server_event_id(pdu, origin, room_version)
    signed = hash_and_sign_event(
        pdu, origin=origin, signing_key=signing_key, room_version=room_version
    )
    return compute_event_id(signed, room_version), signed


def _in_version_form(value: object, room_version: RoomVersion) -> bool:
    if not isinstance(value, list):
        return False
    if room_version.server_event_ids:
        return all(
            isinstance(i, list) and len(i) == 2 and isinstance(i[0], str) and isinstance(i[1], dict)
            for i in value
        )
    return all(isinstance(i, str) for i in value)


def build_pdu(
    *,
    room_version: RoomVersion,
    room_id: str | None,
    sender: str,
    event_type: str,
    content: JsonDict,
    state_key: str | None,
    prev_events: list[str],
    auth_events: list[str],
    depth: int,
    origin_server_ts: int,
    redacts: str | None,
    origin: str,
    signing_key: SigningKey,
) -> tuple[str, JsonDict]:
    """Build a signed, hashed PDU and return ``(event_id, pdu)``.

    In room versions with ``redacts_in_content`` the redaction target goes
    into ``content.redacts`` only (servers add the top-level copy when
    serving clients); older versions use the top-level ``redacts`` key.
    In room versions with ``room_id_from_create_event`` the create event
    carries no ``room_id``: use :func:`room_id_for_create_event` on the
    returned ID. In v1/v2 rooms the event ID is chosen here (``$hash:origin``),
    written into the PDU before it is hashed and signed, and ``auth_events``
    and ``prev_events`` take the ``[event_id, {}]`` pair form.
    """
    pdu: JsonDict = {
        "auth_events": event_references(auth_events, room_version),
        "content": canonical_copy(content),
        "depth": depth,
        "origin_server_ts": origin_server_ts,
        "prev_events": event_references(prev_events, room_version),
        "sender": sender,
        "type": event_type,
    }
    _set_room_id(pdu, room_id, event_type, room_version)
    if state_key is not None:
        pdu["state_key"] = state_key
    if redacts is not None:
        if room_version.redacts_in_content:
            pdu["content"]["redacts"] = redacts
        else:
            pdu["redacts"] = redacts
    if room_version.server_event_ids:
        pdu["event_id"] = new_server_event_id(pdu, origin, room_version)
    signed = hash_and_sign_event(
        pdu, origin=origin, signing_key=signing_key, room_version=room_version
    )
    return compute_event_id(signed, room_version), signed


def _set_room_id(
    pdu: JsonDict, room_id: str | None, event_type: str, room_version: RoomVersion
) -> None:
    hashed_create = room_version.room_id_from_create_event and event_type == CREATE
    if hashed_create:
        if room_id is not None:
            raise ValueError("the create event has no room_id in this room version")
        return
    if room_id is None:
        raise ValueError("room_id is required for this event")
    pdu["room_id"] = room_id


def room_id_for_create_event(event_id: str) -> str:
    """Room ID of a room whose ID derives from its create event (v12+)."""
    if not event_id.startswith("$") or len(event_id) < 2:
        raise ValueError(f"not an event ID: {event_id!r}")
    return "!" + event_id[1:]


def redaction_target(pdu: JsonDict, room_version: RoomVersion) -> str | None:
    """The event ID a redaction event redacts, read where its version keeps it."""
    if pdu.get("type") != REDACTION:
        return None
    if room_version.redacts_in_content:
        content = pdu.get("content")
        target: Any = content.get("redacts") if isinstance(content, dict) else None
    else:
        target = pdu.get("redacts")
    return target if isinstance(target, str) else None


def auth_event_types(
    event_type: str,
    state_key: str | None,
    sender: str,
    content: JsonDict,
    room_version: RoomVersion,
) -> list[StateKey]:
    """The state keys whose current events belong in ``auth_events``.

    Follows the server-server API's "auth events selection"; the create
    event is left out where the room ID implies it (v12+). Only entries
    present in the room state should then be referenced.
    """
    if event_type == CREATE:
        return []
    wanted: list[StateKey] = []
    if not room_version.room_id_from_create_event:
        wanted.append((CREATE, ""))
    wanted.append((POWER_LEVELS, ""))
    wanted.append((MEMBER, sender))
    if event_type == MEMBER:
        wanted.extend(_membership_auth_types(state_key, content, room_version))
    return list(dict.fromkeys(wanted))


def _membership_auth_types(
    state_key: str | None, content: JsonDict, room_version: RoomVersion
) -> list[StateKey]:
    wanted: list[StateKey] = []
    if state_key is not None:
        wanted.append((MEMBER, state_key))
    membership = content.get("membership")
    if membership in ("join", "invite", "knock"):
        wanted.append((JOIN_RULES, ""))
    if membership == "invite" and "third_party_invite" in content:
        token = _third_party_invite_token(content["third_party_invite"])
        if token is not None:
            wanted.append((THIRD_PARTY_INVITE, token))
    authoriser = content.get("join_authorised_via_users_server")
    if membership == "join" and room_version.restricted and isinstance(authoriser, str):
        wanted.append((MEMBER, authoriser))
    return wanted


def _third_party_invite_token(invite: object) -> str | None:
    if not isinstance(invite, dict):
        return None
    signed = invite.get("signed")
    if not isinstance(signed, dict):
        return None
    token = signed.get("token")
    return token if isinstance(token, str) else None
