"""The authorisation rules of room versions 1 to 12.

``check_event_auth`` answers one question: given the state an event is checked
against (its auth events, or the room state at that point), may it exist?
Rule numbers in comments follow the v11 text; v12 inserts rule 2 (room ID
derived from the create event), so its later rules are one higher, and v1-v5
insert rule 4 (``m.room.aliases``). The differences between versions are read
from the ``RoomVersion`` flags: the ``m.room.aliases`` rule (v1-v5), the
redaction rule (v1, v2), ``notifications`` in power levels (v6+), knocking
(v7+), restricted joins (v8+), ``knock_restricted`` (v10+), integer-only power
levels (v10+) and the create event's ``creator`` (v1-v10).

Signature verification is not done here (it needs keys): the caller passes
``is_signed_by`` when it has verified signatures, otherwise the presence of a
signature block from the server is taken as proof, which holds for events
that already passed the signature checks performed on receipt.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sceau.protocol import identifiers
from sceau.protocol.auth_errors import AuthError as AuthError  # re-exported
from sceau.protocol.auth_power_levels import check_power_levels_event
from sceau.protocol.event_format import event_id_server, prev_event_ids
from sceau.protocol.events import auth_event_types
from sceau.protocol.power_levels import (
    PowerLevel,
    action_power_level,
    event_power_level,
    user_power_level,
)
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from sceau.protocol.third_party_invites import verify_third_party_invite as verify_tpi_signature
from sceau.protocol.types import JsonDict, StateKey

CREATE_KEY: StateKey = ("m.room.create", "")
POWER_LEVELS_KEY: StateKey = ("m.room.power_levels", "")
JOIN_RULES_KEY: StateKey = ("m.room.join_rules", "")

SignedBy = Callable[[JsonDict, str], bool]
"""``(event, server_name) -> bool``: whether ``server_name`` validly signed the event."""

ThirdPartyVerifier = Callable[[JsonDict, JsonDict], bool]
"""``(signed, third_party_invite_content) -> bool``: whether a signature in
``signed`` matches a public key of the ``m.room.third_party_invite`` event."""


def server_name_of(identifier: str) -> str:
    """The server part of a user ID (everything after the first colon)."""
    _, _, server = identifier.partition(":")
    return server


def is_valid_user_id(value: object) -> bool:
    """Whether ``value`` is a user ID under the historical grammar events must accept."""
    return isinstance(value, str) and identifiers.is_valid_user_id(value)


def _signed_by_presence(event: JsonDict, server_name: str) -> bool:
    signatures = event.get("signatures")
    return isinstance(signatures, dict) and bool(signatures.get(server_name))


# --- the create event -------------------------------------------------------


def check_create_event(event: JsonDict, room_version: RoomVersion) -> None:
    """Rule 1: the ``m.room.create`` event."""
    if event.get("prev_events"):
        raise AuthError("create event has prev_events")
    sender = event.get("sender")
    if not is_valid_user_id(sender):
        raise AuthError("create event has an invalid sender")
    if room_version.room_id_from_create_event:
        if "room_id" in event:
            raise AuthError("create event must not have a room_id in this room version")
    elif server_name_of(str(event.get("room_id", ""))) != server_name_of(str(sender)):
        raise AuthError("room_id domain does not match the sender's domain")
    content = event.get("content")
    if not isinstance(content, dict):
        raise AuthError("create event content is not an object")
    if "room_version" in content and content["room_version"] not in KNOWN_ROOM_VERSIONS:
        raise AuthError("unrecognised room_version in create event")
    if room_version.privileged_creators and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list) or not all(is_valid_user_id(u) for u in extra):
            raise AuthError("additional_creators must be a list of valid user IDs")
    if room_version.creator_in_create_content and "creator" not in content:
        raise AuthError("create event has no creator")


def create_event_id_for_room(room_id: str) -> str:
    """v12+: the create event's ID is the room ID with the ``$`` sigil."""
    return "$" + room_id[1:]


# --- auth events selection ---------------------------------------------------


def auth_types_for_event(event: JsonDict, room_version: RoomVersion) -> list[StateKey]:
    """The state keys the auth events selection algorithm picks for ``event``."""
    state_key = event.get("state_key")
    content = event.get("content")
    return auth_event_types(
        str(event.get("type", "")),
        state_key if isinstance(state_key, str) else None,
        str(event.get("sender", "")),
        content if isinstance(content, dict) else {},
        room_version,
    )


def check_auth_events_selection(
    event: JsonDict, auth_events: Sequence[JsonDict], room_version: RoomVersion
) -> None:
    """Rules 2.1, 2.2 and 2.4 (v12: 3.1, 3.2): the shape of ``auth_events``."""
    allowed = set(auth_types_for_event(event, room_version))
    seen: set[StateKey] = set()
    for auth_event in auth_events:
        key = (str(auth_event.get("type")), str(auth_event.get("state_key")))
        if "state_key" not in auth_event or key in seen:
            raise AuthError(f"duplicate or non-state auth event {key}")
        seen.add(key)
        if key not in allowed:
            raise AuthError(f"auth event {key} is not selected for this event")
    if not room_version.room_id_from_create_event and CREATE_KEY not in seen:
        raise AuthError("auth events lack the create event")


# --- helpers over the auth state ---------------------------------------------


class _Room:
    """Read-only view of the auth state, answering the questions the rules ask."""

    def __init__(self, auth_state: Mapping[StateKey, JsonDict], room_version: RoomVersion):
        create = auth_state.get(CREATE_KEY)
        if create is None:
            raise AuthError("no create event in auth state")
        self.state = auth_state
        self.version = room_version
        self.create = create
        pl_event = auth_state.get(POWER_LEVELS_KEY)
        self.power_levels: JsonDict | None = None
        if pl_event is not None:
            content = pl_event.get("content")
            self.power_levels = content if isinstance(content, dict) else {}

    def membership(self, user_id: str) -> str | None:
        member = self.state.get(("m.room.member", user_id))
        if member is None:
            return None
        value = (member.get("content") or {}).get("membership")
        return value if isinstance(value, str) else None

    def level(self, user_id: str) -> PowerLevel:
        return user_power_level(user_id, self.power_levels, self.create, self.version)

    def join_rule(self) -> str:
        event = self.state.get(JOIN_RULES_KEY)
        if event is None:
            # No join rules event behaves as "invite", as in other servers.
            return "invite"
        value = (event.get("content") or {}).get("join_rule")
        return value if isinstance(value, str) else ""


# --- the rules -----------------------------------------------------------------


def check_event_auth(
    event: JsonDict,
    auth_state: Mapping[StateKey, JsonDict],
    room_version: RoomVersion,
    *,
    is_signed_by: SignedBy | None = None,
    verify_third_party_invite: ThirdPartyVerifier | None = verify_tpi_signature,
) -> None:
    """Raise AuthError unless ``event`` is allowed against ``auth_state``.

    ``auth_state`` maps (type, state_key) to full event dicts and must hold the
    create event under ``("m.room.create", "")`` in every room version.
    Third-party invites are checked against the public keys of the invite
    event they redeem; with ``verify_third_party_invite=None`` they are rejected.
    """
    if event.get("type") == "m.room.create":
        check_create_event(event, room_version)
        return
    room = _Room(auth_state, room_version)
    _check_room_identity(event, room)
    sender = str(event.get("sender", ""))
    create_content = room.create.get("content") or {}
    if create_content.get("m.federate") is False and server_name_of(sender) != server_name_of(
        str(room.create.get("sender", ""))
    ):
        raise AuthError("room does not federate with the sender's server")
    if event.get("type") == "m.room.aliases" and room_version.special_case_aliases:
        _check_aliases(event, sender)
        return
    if event.get("type") == "m.room.member":
        signed_by = is_signed_by or _signed_by_presence
        _check_membership(event, room, signed_by, verify_third_party_invite)
        return
    if room.membership(sender) != "join":
        raise AuthError("sender is not joined to the room")
    sender_level = room.level(sender)
    if event.get("type") == "m.room.third_party_invite":
        if sender_level < action_power_level("invite", room.power_levels):
            raise AuthError("sender may not invite")
        return
    required = event_power_level(str(event.get("type")), "state_key" in event, room.power_levels)
    if required > sender_level:
        raise AuthError(f"sender needs power level {required} for {event.get('type')}")
    state_key = event.get("state_key")
    if isinstance(state_key, str) and state_key.startswith("@") and state_key != sender:
        raise AuthError("state_key starting with @ must be the sender")
    if event.get("type") == "m.room.power_levels":
        check_power_levels_event(event, room.power_levels, room.create, room_version, sender_level)
    if event.get("type") == "m.room.redaction" and room_version.redaction_auth_rule:
        _check_redaction_v1(event, room, sender_level)


def _check_aliases(event: JsonDict, sender: str) -> None:
    """v1-v5 rule 4: a server may only set the aliases under its own name."""
    state_key = event.get("state_key")
    if not isinstance(state_key, str):
        raise AuthError("m.room.aliases event has no state_key")
    if state_key != server_name_of(sender):
        raise AuthError("m.room.aliases state_key must be the sender's server")


def _check_redaction_v1(event: JsonDict, room: _Room, sender_level: PowerLevel) -> None:
    """v1-v2 rule 11: the redact level, or both event IDs from the same server."""
    if sender_level >= action_power_level("redact", room.power_levels):
        return
    target = event.get("redacts")
    own_id = event.get("event_id")
    if isinstance(target, str) and isinstance(own_id, str):
        target_server = event_id_server(target)
        if target_server is not None and target_server == event_id_server(own_id):
            return
    raise AuthError("sender may not redact this event")


def _check_room_identity(event: JsonDict, room: _Room) -> None:
    """v12 rule 2 and rule 2.5: the event and its auth state share one room."""
    room_id = event.get("room_id")
    if not isinstance(room_id, str):
        raise AuthError("event has no room_id")
    if room.version.room_id_from_create_event:
        create_id = room.create.get("event_id")
        if isinstance(create_id, str) and create_event_id_for_room(room_id) != create_id:
            raise AuthError("room_id does not match the create event")
    for auth_event in room.state.values():
        if "room_id" in auth_event and auth_event["room_id"] != room_id:
            raise AuthError("auth event belongs to another room")


def _check_membership(
    event: JsonDict,
    room: _Room,
    signed_by: SignedBy,
    verify_tpi: ThirdPartyVerifier | None,
) -> None:
    """Rule 4 (v12: 5): ``m.room.member`` events."""
    target = event.get("state_key")
    content = event.get("content")
    if not isinstance(target, str) or not isinstance(content, dict) or "membership" not in content:
        raise AuthError("member event lacks state_key or membership")
    if "join_authorised_via_users_server" in content and room.version.restricted:
        via = content["join_authorised_via_users_server"]
        if not isinstance(via, str) or not signed_by(event, server_name_of(via)):
            raise AuthError("join_authorised_via_users_server's server did not sign the event")
    membership = content["membership"]
    if membership == "join":
        _check_join(event, target, content, room)
    elif membership == "invite":
        _check_invite(event, target, content, room, verify_tpi)
    elif membership == "leave":
        _check_leave(event, target, room)
    elif membership == "ban":
        _check_ban(event, target, room)
    elif membership == "knock" and room.version.knock:
        _check_knock(event, target, room)
    else:
        raise AuthError(f"unknown membership {membership!r}")


def _is_creator_first_join(event: JsonDict, target: str, room: _Room) -> bool:
    """Rule 4.3.1: the creator's own join, right after the create event."""
    prev = prev_event_ids(event, room.version)
    if len(prev) != 1:
        return False
    create_id = room.create.get("event_id")
    if isinstance(create_id, str):
        if prev[0] != create_id:
            return False
    elif any(key != CREATE_KEY for key in room.state):
        return False
    if room.version.creator_in_create_content:
        creator = (room.create.get("content") or {}).get("creator")
    else:
        creator = room.create.get("sender")
    return target == creator


def _check_join(event: JsonDict, target: str, content: JsonDict, room: _Room) -> None:
    if _is_creator_first_join(event, target, room):
        return
    sender = event.get("sender")
    if sender != target:
        raise AuthError("cannot join on behalf of another user")
    current = room.membership(target)
    if current == "ban":
        raise AuthError("user is banned")
    rule = room.join_rule()
    if rule == "public":
        return
    if rule == "invite" or (rule == "knock" and room.version.knock):
        if current in ("invite", "join"):
            return
        raise AuthError("room is invite-only")
    restricted = (rule == "restricted" and room.version.restricted) or (
        rule == "knock_restricted" and room.version.knock_restricted
    )
    if not restricted:
        raise AuthError(f"cannot join with join rule {rule!r}")
    if current in ("invite", "join"):
        return
    via = content.get("join_authorised_via_users_server")
    if not isinstance(via, str) or room.membership(via) != "join":
        raise AuthError("restricted join not authorised by a joined member")
    if room.level(via) < action_power_level("invite", room.power_levels):
        raise AuthError("authorising user may not invite")


def _check_invite(
    event: JsonDict,
    target: str,
    content: JsonDict,
    room: _Room,
    verify_tpi: ThirdPartyVerifier | None,
) -> None:
    sender = str(event.get("sender", ""))
    if "third_party_invite" in content:
        _check_third_party_invite(sender, target, content["third_party_invite"], room, verify_tpi)
        return
    if room.membership(sender) != "join":
        raise AuthError("inviter is not joined")
    if room.membership(target) in ("join", "ban"):
        raise AuthError("invitee is already joined or banned")
    if room.level(sender) < action_power_level("invite", room.power_levels):
        raise AuthError("inviter lacks the invite level")


def _check_third_party_invite(
    sender: str, target: str, tpi: Any, room: _Room, verify_tpi: ThirdPartyVerifier | None
) -> None:
    if room.membership(target) == "ban":
        raise AuthError("invitee is banned")
    signed = tpi.get("signed") if isinstance(tpi, dict) else None
    if not isinstance(signed, dict) or "mxid" not in signed or "token" not in signed:
        raise AuthError("third_party_invite lacks a signed block with mxid and token")
    if signed["mxid"] != target:
        raise AuthError("third_party_invite mxid does not match state_key")
    token = signed["token"]
    tpi_event = room.state.get(("m.room.third_party_invite", str(token)))
    if not isinstance(token, str) or tpi_event is None:
        raise AuthError("no matching m.room.third_party_invite")
    if tpi_event.get("sender") != sender:
        raise AuthError("third-party invite was issued by another user")
    if verify_tpi is None:
        raise AuthError("third-party invite signatures cannot be verified here")
    if not verify_tpi(signed, tpi_event.get("content") or {}):
        raise AuthError("third-party invite signature does not match")


def _check_leave(event: JsonDict, target: str, room: _Room) -> None:
    sender = str(event.get("sender", ""))
    if sender == target:
        allowed = ("invite", "join", "knock") if room.version.knock else ("invite", "join")
        if room.membership(target) in allowed:
            return
        raise AuthError("cannot leave a room one is not in")
    if room.membership(sender) != "join":
        raise AuthError("kicker is not joined")
    sender_level = room.level(sender)
    if room.membership(target) == "ban" and sender_level < action_power_level(
        "ban", room.power_levels
    ):
        raise AuthError("unbanning needs the ban level")
    if (
        sender_level >= action_power_level("kick", room.power_levels)
        and room.level(target) < sender_level
    ):
        return
    raise AuthError("sender may not kick this user")


def _check_ban(event: JsonDict, target: str, room: _Room) -> None:
    sender = str(event.get("sender", ""))
    if room.membership(sender) != "join":
        raise AuthError("banner is not joined")
    sender_level = room.level(sender)
    if (
        sender_level >= action_power_level("ban", room.power_levels)
        and room.level(target) < sender_level
    ):
        return
    raise AuthError("sender may not ban this user")


def _check_knock(event: JsonDict, target: str, room: _Room) -> None:
    rule = room.join_rule()
    if rule != "knock" and not (rule == "knock_restricted" and room.version.knock_restricted):
        raise AuthError("room does not accept knocks")
    if event.get("sender") != target:
        raise AuthError("cannot knock on behalf of another user")
    if room.membership(target) in ("ban", "invite", "join"):
        raise AuthError("cannot knock while banned, invited or joined")


# --- redactions ------------------------------------------------------------------


def redaction_target(event: JsonDict, room_version: RoomVersion) -> str | None:
    """The event ID an ``m.room.redaction`` redacts (content in v11+, else top level)."""
    if room_version.redacts_in_content:
        content = event.get("content")
        if isinstance(content, dict) and isinstance(content.get("redacts"), str):
            return str(content["redacts"])
    top = event.get("redacts")
    return top if isinstance(top, str) else None


def redaction_allowed(
    redaction: JsonDict,
    target: JsonDict,
    power_levels: JsonDict | None,
    create_event: Mapping[str, Any],
    room_version: RoomVersion,
) -> bool:
    """Whether an authorised redaction may take effect on ``target``.

    It may if the redaction's sender has the ``redact`` level, or is on the
    same server as the redacted event's sender (the spec's "Handling
    redactions", v3+); in v1/v2, where the auth rules decide, the two event
    IDs must name the same server instead. The target must be in the same room.
    """
    if redaction.get("room_id") != target.get("room_id"):
        return False
    sender = str(redaction.get("sender", ""))
    if room_version.redaction_auth_rule:
        own = event_id_server(str(redaction.get("event_id", "")))
        if own is not None and own == event_id_server(str(target.get("event_id", ""))):
            return True
    elif server_name_of(sender) == server_name_of(str(target.get("sender", ""))):
        return True
    level = user_power_level(sender, power_levels, create_event, room_version)
    return level >= action_power_level("redact", power_levels)
