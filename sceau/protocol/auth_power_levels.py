"""Authorisation of ``m.room.power_levels`` events, in every room version.

Rule 9 of the v11 text (10 in v1-v5 and v12): the shape of the new content,
then every added, changed or removed level must be within the sender's
reach. Before v10 only ``users`` is validated and values may be strings
holding integers (or floats before v6); ``notifications`` is compared from v6.
"""

from collections.abc import Mapping
from typing import Any

from sceau.protocol.auth_errors import AuthError
from sceau.protocol.identifiers import is_valid_user_id
from sceau.protocol.power_levels import PowerLevel, as_int, parse_power_level, room_creators
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict

_PL_SCALAR_KEYS = (
    "users_default",
    "events_default",
    "state_default",
    "ban",
    "redact",
    "kick",
    "invite",
)
_PL_MAP_KEYS = ("events", "notifications")
_MAX_SAFE_INT = 2**53 - 1


def check_power_levels_event(
    event: JsonDict,
    old: JsonDict | None,
    create_event: Mapping[str, Any],
    room_version: RoomVersion,
    sender_level: PowerLevel,
) -> None:
    """Raise AuthError unless ``event`` may replace the power levels ``old`` (content)."""
    content = event.get("content")
    if not isinstance(content, dict):
        raise AuthError("power levels content is not an object")
    _validate_power_levels(content, create_event, room_version)
    if old is None:
        return
    for key in _PL_SCALAR_KEYS:
        _check_change(key, old.get(key), content.get(key), sender_level, strict_old=False)
    for key in _map_keys(room_version):
        old_map, new_map = _as_map(old.get(key)), _as_map(content.get(key))
        for name in set(old_map) | set(new_map):
            label = f"{key}.{name}"
            _check_change(label, old_map.get(name), new_map.get(name), sender_level, False)
    old_users, new_users = _as_map(old.get("users")), _as_map(content.get("users"))
    sender = event.get("sender")
    for user_id in set(old_users) | set(new_users):
        strict = user_id != sender
        label = f"users.{user_id}"
        _check_change(label, old_users.get(user_id), new_users.get(user_id), sender_level, strict)


def _is_json_int(value: Any, room_version: RoomVersion) -> bool:
    if room_version.integer_power_levels:
        found = as_int(value)
        return found is not None and -_MAX_SAFE_INT <= found <= _MAX_SAFE_INT
    return parse_power_level(value) is not None


def _map_keys(room_version: RoomVersion) -> tuple[str, ...]:
    """``events``, plus ``notifications`` from v6."""
    return _PL_MAP_KEYS if room_version.notifications_power_levels else _PL_MAP_KEYS[:1]


def _validate_power_levels(
    content: JsonDict, create_event: Mapping[str, Any], version: RoomVersion
) -> None:
    """Rules 9.1-9.3 (v12: 10.1-10.4): the shape of the new content.

    Before v10 only ``users`` is checked, and its values may be strings
    holding integers (or, before v6, floats).
    """
    for key in _PL_SCALAR_KEYS if version.integer_power_levels else ():
        if key in content and not _is_json_int(content[key], version):
            raise AuthError(f"power levels {key} is not an integer")
    for key in _PL_MAP_KEYS if version.integer_power_levels else ():
        if key in content:
            value = content[key]
            if not isinstance(value, dict) or not all(
                _is_json_int(v, version) for v in value.values()
            ):
                raise AuthError(f"power levels {key} must map to integers")
    if "users" in content:
        users = content["users"]
        if not isinstance(users, dict):
            raise AuthError("power levels users is not an object")
        for user_id, value in users.items():
            if (
                not isinstance(user_id, str)
                or not is_valid_user_id(user_id)
                or not _is_json_int(value, version)
            ):
                raise AuthError(f"invalid power levels users entry {user_id!r}")
        if version.privileged_creators and room_creators(create_event, version) & set(users):
            raise AuthError("room creators cannot be listed in power levels users")


def _as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _check_change(
    name: str, old_raw: Any, new_raw: Any, sender_level: PowerLevel, strict_old: bool
) -> None:
    """One added, changed or removed value: both sides must be within reach.

    The old value must be below the sender's level (``strict_old``, for other
    users' entries) or not above it; the new value must not be above it.
    """
    old_value = parse_power_level(old_raw) if old_raw is not None else None
    new_value = parse_power_level(new_raw) if new_raw is not None else None
    if old_raw is None and new_raw is None:
        return
    if old_raw is not None and new_raw is not None and old_value == new_value:
        return
    if old_value is not None and (
        old_value > sender_level or (strict_old and old_value >= sender_level)
    ):
        raise AuthError(f"cannot change {name} from a level at or above your own")
    if new_value is not None and new_value > sender_level:
        raise AuthError(f"cannot set {name} above your own level")
