"""Room versions as values.

Each version is a frozen description derived from the one before it, so that
the rest of the code asks "does this version do X?" instead of comparing
version strings. Sceau serves versions 10, 11 and 12.
"""

from dataclasses import dataclass, replace
from typing import Literal


@dataclass(frozen=True)
class RoomVersion:
    """The rules that differ between room versions."""

    identifier: str
    stable: bool = True
    #: ``knock`` join rule and membership (v7+).
    knock: bool = True
    #: ``restricted`` join rule (v8+).
    restricted: bool = True
    #: ``knock_restricted`` join rule (v10+).
    knock_restricted: bool = True
    #: Power level values must be integers, not strings (v10+).
    integer_power_levels: bool = True
    #: v11 redaction rules (MSC2176/MSC3821): whole create content kept,
    #: ``invite`` kept in power levels, ``signed`` kept in member content.
    updated_redaction_rules: bool = False
    #: ``redacts`` lives in ``content`` rather than at the top level (v11+).
    redacts_in_content: bool = False
    #: The create event carries ``creator`` in its content (before v11).
    creator_in_create_content: bool = True
    #: Room ID is the reference hash of the create event; the create event
    #: has no ``room_id`` and is implied in every event's auth (v12).
    room_id_from_create_event: bool = False
    #: Room creators (sender plus ``additional_creators``) hold unlimited power (v12).
    privileged_creators: bool = False
    #: State resolution algorithm.
    state_resolution: Literal["v2", "v2.1"] = "v2"


ROOM_V10 = RoomVersion(identifier="10")

ROOM_V11 = replace(
    ROOM_V10,
    identifier="11",
    updated_redaction_rules=True,
    redacts_in_content=True,
    creator_in_create_content=False,
)

ROOM_V12 = replace(
    ROOM_V11,
    identifier="12",
    room_id_from_create_event=True,
    privileged_creators=True,
    state_resolution="v2.1",
)

KNOWN_ROOM_VERSIONS: dict[str, RoomVersion] = {
    v.identifier: v for v in (ROOM_V10, ROOM_V11, ROOM_V12)
}
DEFAULT_ROOM_VERSION = ROOM_V11


def get_room_version(identifier: str) -> RoomVersion | None:
    """Return the version with this identifier, or None if Sceau does not serve it."""
    return KNOWN_ROOM_VERSIONS.get(identifier)
