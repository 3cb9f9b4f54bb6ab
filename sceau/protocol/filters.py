"""The Matrix filter model used by /sync, /messages and /context.

``parse_filter`` validates a client's filter body against the spec's Filter
schema (unknown keys are ignored) and returns frozen dataclasses whose
``matches`` methods decide which events a response includes.
"""

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sceau.protocol.push_rules import split_dotted_key
from sceau.protocol.types import JsonDict


class FilterError(ValueError):
    """The filter body does not follow the Filter schema."""


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Filters know one wildcard: ``*`` matches any sequence of characters."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _any_match(patterns: Iterable[str], value: str) -> bool:
    for pattern in patterns:
        if "*" in pattern:
            if glob_to_regex(pattern).fullmatch(value):
                return True
        elif pattern == value:
            return True
    return False


def _allowed(value: str | None, include: tuple[str, ...] | None, exclude: tuple[str, ...]) -> bool:
    """Exclusion wins over inclusion; a missing value only passes with no include list."""
    if value is not None and _any_match(exclude, value):
        return False
    if include is None:
        return True
    return value is not None and _any_match(include, value)


def _sender_of(event: Mapping[str, Any]) -> str | None:
    sender = event.get("sender")
    if isinstance(sender, str):
        return sender
    # Old presence events carried the user in content.user_id.
    content = event.get("content")
    user_id = content.get("user_id") if isinstance(content, dict) else None
    return user_id if isinstance(user_id, str) else None


@dataclass(frozen=True)
class EventFilter:
    """Filters non-room events (presence, global account data) by type and sender."""

    limit: int | None = None
    types: tuple[str, ...] | None = None
    not_types: tuple[str, ...] = ()
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the event passes the type and sender lists."""
        event_type = event.get("type")
        if not _allowed(
            event_type if isinstance(event_type, str) else None, self.types, self.not_types
        ):
            return False
        return _allowed(_sender_of(event), self.senders, self.not_senders)

    def filter(self, events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The matching events, in order (the limit is the caller's to apply)."""
        return [e for e in events if self.matches(e)]

    def excludes_everything(self) -> bool:
        """No event can pass (``limit: 0`` or ``not_types: ["*"]``): a section may skip its work."""
        return self.limit == 0 or "*" in self.not_types

    def limit_or(self, default: int) -> int:
        """The requested limit, or the caller's default when none was given."""
        return default if self.limit is None else self.limit


@dataclass(frozen=True)
class RoomEventFilter(EventFilter):
    """Filters room events: adds rooms, ``contains_url`` and lazy-loading flags."""

    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    contains_url: bool | None = None
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    unread_thread_notifications: bool = False

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Type, sender, room and ``url`` checks together."""
        if self.passes_everything():
            return True
        if not super().matches(event):
            return False
        room_id = event.get("room_id")
        if not _allowed(room_id if isinstance(room_id, str) else None, self.rooms, self.not_rooms):
            return False
        if self.contains_url is not None:
            content = event.get("content")
            has_url = isinstance(content, dict) and isinstance(content.get("url"), str)
            if has_url != self.contains_url:
                return False
        return True

    def passes_everything(self) -> bool:
        """No list and no ``contains_url``: every event matches, so skip the checks.

        The usual /sync filter narrows nothing but the limit; an initial sync
        otherwise ran the type, sender and room checks on thousands of events.
        """
        return (
            self.types is None
            and self.senders is None
            and self.rooms is None
            and self.contains_url is None
            and not self.not_types
            and not self.not_senders
            and not self.not_rooms
        )


@dataclass(frozen=True)
class RoomFilter:
    """What /sync includes per room; ``rooms``/``not_rooms`` apply first."""

    rooms: tuple[str, ...] | None = None
    not_rooms: tuple[str, ...] = ()
    include_leave: bool = False
    ephemeral: RoomEventFilter = field(default_factory=RoomEventFilter)
    state: RoomEventFilter = field(default_factory=RoomEventFilter)
    timeline: RoomEventFilter = field(default_factory=RoomEventFilter)
    account_data: RoomEventFilter = field(default_factory=RoomEventFilter)

    def matches_room(self, room_id: str) -> bool:
        """Whether the room is included at all."""
        return _allowed(room_id, self.rooms, self.not_rooms)


@dataclass(frozen=True)
class Filter:
    """A whole filter as stored by POST /user/{userId}/filter."""

    event_fields: tuple[str, ...] | None = None
    event_format: Literal["client", "federation"] = "client"
    presence: EventFilter = field(default_factory=EventFilter)
    account_data: EventFilter = field(default_factory=EventFilter)
    room: RoomFilter = field(default_factory=RoomFilter)


# --- parsing ----------------------------------------------------------------------


def _require_object(body: Any) -> JsonDict:
    if not isinstance(body, dict):
        raise FilterError("filter must be an object")
    return body


def _object(body: JsonDict, key: str) -> JsonDict:
    value = body.get(key, {})
    if not isinstance(value, dict):
        raise FilterError(f"{key} must be an object")
    return value


def _bool(body: JsonDict, key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise FilterError(f"{key} must be a boolean")
    return value


def _strings(body: JsonDict, key: str, sigil: str | None = None) -> tuple[str, ...] | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FilterError(f"{key} must be a list of strings")
    if sigil is not None and not all(v.startswith(sigil) for v in value):
        raise FilterError(f"{key} entries must start with {sigil!r}")
    return tuple(value)


def _event_filter_fields(body: JsonDict) -> dict[str, Any]:
    limit = body.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise FilterError("limit must be a non-negative integer")
    return {
        "limit": limit,
        "types": _strings(body, "types"),
        "not_types": _strings(body, "not_types") or (),
        "senders": _strings(body, "senders", "@"),
        "not_senders": _strings(body, "not_senders", "@") or (),
    }


def parse_event_filter(body: Any) -> EventFilter:
    """An EventFilter from its JSON object."""
    body = _require_object(body)
    return EventFilter(**_event_filter_fields(body))


def parse_room_event_filter(body: Any) -> RoomEventFilter:
    """A RoomEventFilter from its JSON object."""
    body = _require_object(body)
    contains_url = body.get("contains_url")
    if contains_url is not None and not isinstance(contains_url, bool):
        raise FilterError("contains_url must be a boolean")
    return RoomEventFilter(
        **_event_filter_fields(body),
        rooms=_strings(body, "rooms", "!"),
        not_rooms=_strings(body, "not_rooms", "!") or (),
        contains_url=contains_url,
        lazy_load_members=_bool(body, "lazy_load_members", False),
        include_redundant_members=_bool(body, "include_redundant_members", False),
        unread_thread_notifications=_bool(body, "unread_thread_notifications", False),
    )


def parse_room_filter(body: Any) -> RoomFilter:
    """A RoomFilter from its JSON object."""
    body = _require_object(body)
    return RoomFilter(
        rooms=_strings(body, "rooms", "!"),
        not_rooms=_strings(body, "not_rooms", "!") or (),
        include_leave=_bool(body, "include_leave", False),
        ephemeral=parse_room_event_filter(_object(body, "ephemeral")),
        state=parse_room_event_filter(_object(body, "state")),
        timeline=parse_room_event_filter(_object(body, "timeline")),
        account_data=parse_room_event_filter(_object(body, "account_data")),
    )


def parse_filter(body: Any) -> Filter:
    """Validate a filter body and build the Filter; raises FilterError."""
    body = _require_object(body)
    event_format = body.get("event_format", "client")
    if event_format not in ("client", "federation"):
        raise FilterError("event_format must be 'client' or 'federation'")
    return Filter(
        event_fields=_strings(body, "event_fields"),
        event_format=event_format,
        presence=parse_event_filter(_object(body, "presence")),
        account_data=parse_event_filter(_object(body, "account_data")),
        room=parse_room_filter(_object(body, "room")),
    )


# --- event_fields ------------------------------------------------------------------


def project_event_fields(event: Mapping[str, Any], fields: Iterable[str] | None) -> JsonDict:
    """Keep only the listed dotted paths of ``event`` (all of it when None)."""
    if fields is None:
        return dict(event)
    result: JsonDict = {}
    for path in fields:
        parts = split_dotted_key(path)
        source: Any = event
        for part in parts:
            if not isinstance(source, Mapping) or part not in source:
                break
            source = source[part]
        else:
            target = result
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            # A copy, so overlapping paths never write into the caller's event.
            target[parts[-1]] = copy.deepcopy(source)
    return result
