"""Reading ``m.room.power_levels`` content, and the defaults used by createRoom.

Everything here takes the *content* of the power levels event (or None when the
room has none) and the full create event, because room versions 12 and later
derive the creators' power from the create event rather than from ``users``.
"""

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict

PowerLevel = int | float
"""An integer level, or ``float('inf')`` for a privileged creator (v12+)."""

CREATOR_POWER_LEVEL_WITHOUT_PL_EVENT = 100
"""What the creator holds in v1-v11 while the room has no power levels event."""

_ACTION_DEFAULTS: dict[str, int] = {"invite": 0, "kick": 50, "ban": 50, "redact": 50}
_DEFAULT_STATE_LEVEL = 50
_DEFAULT_EVENTS_LEVEL = 0
_DEFAULT_NOTIFICATION_LEVEL = 50

Action = Literal["invite", "kick", "ban", "redact"]

CALL_MEMBER_EVENT_TYPES = ("m.call.member", "org.matrix.msc3401.call.member")
"""Group call membership (MSC3401): every member must be able to join and leave a call."""
CALL_EVENT_TYPES = ("m.call", "org.matrix.msc3401.call")
"""A group call itself: started, and marked ended when the last person leaves."""


def as_int(value: Any) -> int | None:
    """Return ``value`` if it is a JSON integer (not a bool), else None.

    Power levels are validated as integers by the auth rules of v10+, but a
    defensive read keeps malformed stored content from raising.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


_STRINGY_INT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


def parse_power_level(value: Any) -> int | None:
    """Read a power level value the way room versions 1 to 9 allow it.

    Integers stand as they are; strings holding a base-10 integer (signs,
    leading zeroes and surrounding whitespace allowed) and finite floats
    (truncated) are converted, per the spec's "stringy" and "floaty" power
    levels. Anything else is None. From v10 the auth rules only let integers
    in, so reading every version this way changes nothing there.
    """
    found = as_int(value)
    if found is not None:
        return found
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and _STRINGY_INT.fullmatch(value):
        return int(value.strip())
    return None


def _level(content: Mapping[str, Any] | None, key: str, default: int) -> int:
    if content is None:
        return default
    found = parse_power_level(content.get(key))
    return default if found is None else found


def room_creators(create_event: Mapping[str, Any], room_version: RoomVersion) -> set[str]:
    """The users the room version treats as creators.

    v12+: the create event's sender plus ``content.additional_creators``.
    Earlier versions: ``content.creator`` (v1-v10) or the sender (v11).
    """
    content = create_event.get("content") or {}
    if room_version.privileged_creators:
        creators = {str(create_event.get("sender", ""))}
        extra = content.get("additional_creators")
        if isinstance(extra, list):
            creators.update(u for u in extra if isinstance(u, str))
        return creators
    if room_version.creator_in_create_content:
        creator = content.get("creator")
        return {creator} if isinstance(creator, str) else set()
    return {str(create_event.get("sender", ""))}


def user_power_level(
    user_id: str,
    power_levels: JsonDict | None,
    create_event: Mapping[str, Any],
    room_version: RoomVersion,
) -> PowerLevel:
    """The power level of ``user_id`` given the room's power levels content."""
    creators = room_creators(create_event, room_version)
    if room_version.privileged_creators and user_id in creators:
        return float("inf")
    if power_levels is None:
        if not room_version.privileged_creators and user_id in creators:
            return CREATOR_POWER_LEVEL_WITHOUT_PL_EVENT
        return 0
    users = power_levels.get("users")
    if isinstance(users, dict) and user_id in users:
        explicit = parse_power_level(users[user_id])
        if explicit is not None:
            return explicit
    return _level(power_levels, "users_default", 0)


def event_power_level(event_type: str, is_state: bool, power_levels: JsonDict | None) -> int:
    """The level needed to send an event of this type (``events`` or a default)."""
    if power_levels is not None:
        events = power_levels.get("events")
        if isinstance(events, dict):
            specific = parse_power_level(events.get(event_type))
            if specific is not None:
                return specific
    if is_state:
        return _level(power_levels, "state_default", _DEFAULT_STATE_LEVEL)
    return _level(power_levels, "events_default", _DEFAULT_EVENTS_LEVEL)


def action_power_level(action: Action, power_levels: JsonDict | None) -> int:
    """The level needed to invite, kick, ban or redact others' events."""
    return _level(power_levels, action, _ACTION_DEFAULTS[action])


def notification_power_level(key: str, power_levels: JsonDict | None) -> int:
    """The level needed to trigger a notification of type ``key`` (e.g. ``room``)."""
    if power_levels is not None:
        notifications = power_levels.get("notifications")
        if isinstance(notifications, dict):
            found = parse_power_level(notifications.get(key))
            if found is not None:
                return found
    return _DEFAULT_NOTIFICATION_LEVEL


def default_power_levels(
    creator: str,
    room_version: RoomVersion,
    preset_users: Iterable[str] = (),
    *,
    additional_creators: Iterable[str] = (),
    preset: str | None = None,
    override: JsonDict | None = None,
) -> JsonDict:
    """The power levels content createRoom sends as the room's third event.

    ``preset_users`` get the creator's level (the ``trusted_private_chat``
    invitees). In v12+ creators already have infinite power and must not be
    listed in ``users``, so the creator and ``additional_creators`` are left
    out, and ``m.room.tombstone`` is raised above ``state_default`` as the spec
    requires. ``public_chat`` rooms require level 50 to invite (as Synapse
    does); other presets let any member invite. Any member may join a group
    call (level 0 for the call member events) and, outside ``public_chat``
    rooms, start or end one. ``override`` is applied on top, key by key, like
    ``power_level_content_override``.
    """
    privileged = room_version.privileged_creators
    excluded = {creator, *additional_creators} if privileged else set()
    users: dict[str, int] = {}
    if not privileged:
        users[creator] = 100
    for user in preset_users:
        if user not in excluded:
            users[user] = 100
    content: JsonDict = {
        "users": users,
        "users_default": 0,
        "events": {
            "m.room.name": 50,
            "m.room.power_levels": 100,
            "m.room.history_visibility": 100,
            "m.room.canonical_alias": 50,
            "m.room.avatar": 50,
            "m.room.tombstone": 150 if privileged else 100,
            "m.room.server_acl": 100,
            "m.room.encryption": 100,
            **dict.fromkeys(CALL_MEMBER_EVENT_TYPES, 0),
            **dict.fromkeys(CALL_EVENT_TYPES, 50 if preset == "public_chat" else 0),
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 50 if preset == "public_chat" else 0,
        "notifications": {"room": 50},
    }
    if override:
        content.update(override)
    return content
