"""The redaction algorithm (room versions 10 to 12).

Redaction strips an event down to the keys the protocol needs, so that it
still authorises, hashes and verifies after its content is removed. Room
version 10 uses the v9 rules; versions 11 and 12 use the updated v11 rules
(``RoomVersion.updated_redaction_rules``).
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
_TOP_LEVEL_KEYS_V9 = _TOP_LEVEL_KEYS_V11 | {"prev_state", "origin", "membership"}

_POWER_LEVEL_KEYS_V9 = frozenset(
    {"ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"}
)

_CONTENT_KEYS_V9: Mapping[str, frozenset[str]] = {
    "m.room.member": frozenset({"membership", "join_authorised_via_users_server"}),
    "m.room.create": frozenset({"creator"}),
    "m.room.join_rules": frozenset({"join_rule", "allow"}),
    "m.room.power_levels": _POWER_LEVEL_KEYS_V9,
    "m.room.history_visibility": frozenset({"history_visibility"}),
}

_CONTENT_KEYS_V11: Mapping[str, frozenset[str]] = {
    **_CONTENT_KEYS_V9,
    "m.room.power_levels": _POWER_LEVEL_KEYS_V9 | {"invite"},
    "m.room.redaction": frozenset({"redacts"}),
}


def redact_event(pdu: JsonDict, room_version: RoomVersion) -> JsonDict:
    """Return a redacted copy of ``pdu``; the input is left untouched.

    Works on federation PDUs and on client-format events alike: every key
    outside the protected set is dropped, ``unsigned`` included (callers
    that serve clients re-add ``unsigned.redacted_because`` themselves).
    """
    v11 = room_version.updated_redaction_rules
    top_level = _TOP_LEVEL_KEYS_V11 if v11 else _TOP_LEVEL_KEYS_V9
    redacted = {key: copy.deepcopy(value) for key, value in pdu.items() if key in top_level}
    content = pdu.get("content")
    event_type = pdu.get("type")
    redacted["content"] = (
        _redact_content(event_type, content, v11)
        if isinstance(content, Mapping) and isinstance(event_type, str)
        else {}
    )
    return redacted


def _redact_content(event_type: str, content: Mapping[str, Any], v11: bool) -> JsonDict:
    if v11 and event_type == "m.room.create":
        return copy.deepcopy(dict(content))
    allowed = (_CONTENT_KEYS_V11 if v11 else _CONTENT_KEYS_V9).get(event_type, frozenset())
    kept = {key: copy.deepcopy(value) for key, value in content.items() if key in allowed}
    if v11 and event_type == "m.room.member":
        invite = content.get("third_party_invite")
        if isinstance(invite, Mapping):
            kept["third_party_invite"] = (
                {"signed": copy.deepcopy(invite["signed"])} if "signed" in invite else {}
            )
    return kept
