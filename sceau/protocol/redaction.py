"""The redaction algorithm, for every room version.

Redaction strips an event down to the keys the protocol needs, so that it
still authorises, hashes and verifies after its content is removed. The keys
kept follow the room version's flags: ``aliases`` until v5, ``allow`` on join
rules from v8, ``join_authorised_via_users_server`` on members from v9, and
the updated rules of v11 (MSC2176/MSC3821) from v11 on.
"""

import copy
from collections.abc import Mapping
from typing import Any

from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict

_TOP_LEVEL_KEYS_V11 = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)
_TOP_LEVEL_KEYS_V1 = _TOP_LEVEL_KEYS_V11 | {"prev_state", "origin", "membership"}

_POWER_LEVEL_KEYS_V1 = frozenset(
    {"ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"}
)


def content_keys_kept(event_type: str, room_version: RoomVersion) -> frozenset[str]:
    """The ``content`` keys redaction keeps for ``event_type`` in ``room_version``.

    The v11 create event (whole content kept) and the v11 member event's
    ``third_party_invite.signed`` are handled by :func:`redact_event` itself.
    """
    v = room_version
    if event_type == "m.room.member":
        if v.redaction_keeps_authorising_user or v.updated_redaction_rules:
            return frozenset({"membership", "join_authorised_via_users_server"})
        return frozenset({"membership"})
    if event_type == "m.room.create":
        return frozenset() if v.updated_redaction_rules else frozenset({"creator"})
    if event_type == "m.room.join_rules":
        return frozenset({"join_rule", "allow"} if v.restricted else {"join_rule"})
    if event_type == "m.room.power_levels":
        if v.updated_redaction_rules:
            return _POWER_LEVEL_KEYS_V1 | {"invite"}
        return _POWER_LEVEL_KEYS_V1
    if event_type == "m.room.history_visibility":
        return frozenset({"history_visibility"})
    if event_type == "m.room.aliases" and v.special_case_aliases:
        return frozenset({"aliases"})
    if event_type == "m.room.redaction" and v.updated_redaction_rules:
        return frozenset({"redacts"})
    return frozenset()


def redact_event(pdu: JsonDict, room_version: RoomVersion) -> JsonDict:
    """Return a redacted copy of ``pdu``; the input is left untouched.

    Works on federation PDUs and on client-format events alike: every key
    outside the protected set is dropped, ``unsigned`` included (callers
    that serve clients re-add ``unsigned.redacted_because`` themselves).
    """
    v11 = room_version.updated_redaction_rules
    top_level = _TOP_LEVEL_KEYS_V11 if v11 else _TOP_LEVEL_KEYS_V1
    redacted = {key: copy.deepcopy(value) for key, value in pdu.items() if key in top_level}
    content = pdu.get("content")
    event_type = pdu.get("type")
    redacted["content"] = (
        _redact_content(event_type, content, room_version)
        if isinstance(content, Mapping) and isinstance(event_type, str)
        else {}
    )
    return redacted


def _redact_content(
    event_type: str, content: Mapping[str, Any], room_version: RoomVersion
) -> JsonDict:
    v11 = room_version.updated_redaction_rules
    if v11 and event_type == "m.room.create":
        return copy.deepcopy(dict(content))
    allowed = content_keys_kept(event_type, room_version)
    kept = {key: copy.deepcopy(value) for key, value in content.items() if key in allowed}
    if v11 and event_type == "m.room.member":
        invite = content.get("third_party_invite")
        if isinstance(invite, Mapping):
            kept["third_party_invite"] = (
                {"signed": copy.deepcopy(invite["signed"])} if "signed" in invite else {}
            )
    return kept
