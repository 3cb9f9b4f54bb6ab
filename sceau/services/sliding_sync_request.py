"""The request body of Simplified Sliding Sync (MSC4186), checked and typed.

Anything of the wrong type is M_BAD_JSON; values of the right type that make
no sense (a negative range, an absurd timeline limit) are M_INVALID_PARAM.
"""

from dataclasses import dataclass, field
from typing import Any

from sceau.errors import bad_json, invalid_param

#: Largest timeline_limit honoured (bigger asks are capped, not refused).
MAX_TIMELINE_LIMIT = 100
#: Lists and subscriptions one request may carry.
MAX_LISTS = 100
MAX_SUBSCRIPTIONS = 1000


@dataclass(frozen=True)
class RoomConfig:
    """What the client wants of a room: which state and how many timeline events."""

    required_state: tuple[tuple[str, str], ...] = ()
    timeline_limit: int = 0

    def widens(self, earlier: "RoomConfig") -> bool:
        """Whether this asks for more than ``earlier`` did (then the room is sent afresh)."""
        more_state = any(s not in earlier.required_state for s in self.required_state)
        return more_state or self.timeline_limit > earlier.timeline_limit

    def merge(self, other: "RoomConfig") -> "RoomConfig":
        """A room in several lists gets the union of the state and the larger timeline."""
        state = self.required_state + tuple(
            s for s in other.required_state if s not in self.required_state
        )
        return RoomConfig(state, max(self.timeline_limit, other.timeline_limit))


@dataclass(frozen=True)
class ListFilters:
    is_dm: bool | None = None
    is_encrypted: bool | None = None
    is_invite: bool | None = None
    room_types: tuple[str | None, ...] | None = None
    not_room_types: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class ListRequest:
    ranges: tuple[tuple[int, int], ...]
    config: RoomConfig
    filters: ListFilters
    #: The event types that order this list (None: MSC4186's defaults).
    bump_event_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ExtensionScope:
    """Which rooms an ephemeral extension covers: names of lists and room IDs, '*' for all."""

    lists: tuple[str, ...] = ("*",)
    rooms: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class Extensions:
    to_device: bool = False
    to_device_since: int | None = None
    e2ee: bool = False
    account_data: ExtensionScope | None = None
    receipts: ExtensionScope | None = None
    typing: ExtensionScope | None = None


@dataclass(frozen=True)
class SlidingSyncRequest:
    conn_id: str | None
    lists: dict[str, ListRequest] = field(default_factory=dict)
    subscriptions: dict[str, RoomConfig] = field(default_factory=dict)
    extensions: Extensions = Extensions()


def parse_request(body: dict[str, Any], conn_id: str | None) -> SlidingSyncRequest:
    lists = _object(body, "lists")
    subs = _object(body, "room_subscriptions")
    if len(lists) > MAX_LISTS or len(subs) > MAX_SUBSCRIPTIONS:
        raise invalid_param("Too many lists or room subscriptions")
    parsed_lists = {name: _list(name, _as_object(value, name)) for name, value in lists.items()}
    parsed_subs = {}
    for room_id, value in subs.items():
        if not room_id.startswith("!"):
            raise invalid_param(f"Not a room ID: {room_id!r}")
        parsed_subs[room_id] = _room_config(_as_object(value, room_id))
    return SlidingSyncRequest(
        conn_id, parsed_lists, parsed_subs, _extensions(_object(body, "extensions"))
    )


def _list(name: str, body: dict[str, Any]) -> ListRequest:
    raw_ranges = body.get("ranges", [])
    if not isinstance(raw_ranges, list):
        raise bad_json(f"'lists.{name}.ranges' must be a list")
    ranges = []
    for item in raw_ranges:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in item)
        ):
            raise bad_json("Each range must be a list of two integers")
        if item[0] < 0 or item[1] < item[0]:
            raise invalid_param(f"Invalid range {item}")
        ranges.append((item[0], item[1]))
    bump_types = body.get("bump_event_types")
    if bump_types is not None and (
        not isinstance(bump_types, list) or not all(isinstance(t, str) for t in bump_types)
    ):
        raise bad_json(f"'lists.{name}.bump_event_types' must be a list of strings")
    return ListRequest(
        tuple(ranges),
        _room_config(body),
        _filters(_object(body, "filters")),
        tuple(bump_types) if bump_types else None,
    )


def _room_config(body: dict[str, Any]) -> RoomConfig:
    raw_state = body.get("required_state", [])
    if not isinstance(raw_state, list):
        raise bad_json("'required_state' must be a list")
    state = []
    for pair in raw_state:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(s, str) for s in pair)
        ):
            raise bad_json("Each required_state entry must be [type, state_key]")
        if (pair[0], pair[1]) not in state:
            state.append((pair[0], pair[1]))
    limit = body.get("timeline_limit", 0)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise bad_json("'timeline_limit' must be an integer")
    if limit < 0:
        raise invalid_param("'timeline_limit' must not be negative")
    return RoomConfig(tuple(state), min(limit, MAX_TIMELINE_LIMIT))


def _filters(body: dict[str, Any]) -> ListFilters:
    flags = {}
    for name in ("is_dm", "is_encrypted", "is_invite"):
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            raise bad_json(f"'filters.{name}' must be a boolean")
        flags[name] = value
    room_types = _room_types(body, "room_types")
    return ListFilters(
        is_dm=flags["is_dm"],
        is_encrypted=flags["is_encrypted"],
        is_invite=flags["is_invite"],
        room_types=room_types,
        not_room_types=_room_types(body, "not_room_types") or (),
    )


def _room_types(body: dict[str, Any], name: str) -> tuple[str | None, ...] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        raise bad_json(f"'filters.{name}' must be a list of room types (or null)")
    return tuple(value)


def _extensions(body: dict[str, Any]) -> Extensions:
    to_device = _object(body, "to_device")
    since = to_device.get("since")
    since_pos = None
    if since is not None:
        if not isinstance(since, str):
            raise bad_json("'extensions.to_device.since' must be a string")
        if not since.isdigit() or len(since) > 18:
            raise invalid_param("Unknown to_device 'since' token")
        since_pos = int(since)
    return Extensions(
        to_device=_enabled(to_device, "to_device"),
        to_device_since=since_pos,
        e2ee=_enabled(_object(body, "e2ee"), "e2ee"),
        account_data=_scope(_object(body, "account_data"), "account_data"),
        receipts=_scope(_object(body, "receipts"), "receipts"),
        typing=_scope(_object(body, "typing"), "typing"),
    )


def _scope(body: dict[str, Any], name: str) -> ExtensionScope | None:
    if not _enabled(body, name):
        return None
    parts = []
    for key in ("lists", "rooms"):
        value = body.get(key, ["*"])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_json(f"'extensions.{name}.{key}' must be a list of strings")
        parts.append(tuple(value))
    return ExtensionScope(parts[0], parts[1])


def _enabled(body: dict[str, Any], name: str) -> bool:
    value = body.get("enabled", False)
    if not isinstance(value, bool):
        raise bad_json(f"'extensions.{name}.enabled' must be a boolean")
    return value


def _object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    return {} if value is None else _as_object(value, name)


def _as_object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_json(f"'{name}' must be an object")
    return value
