"""Room versions as values.

Each version is a frozen description derived from the one before it, so that
the rest of the code asks "does this version do X?" instead of comparing
version strings. The defaults describe room version 1; every later version
is the previous one with the features its spec page adds. Sceau serves all
stable versions, 1 to 12.
"""

from dataclasses import dataclass, replace
from typing import Literal

EventIdFormat = Literal["server", "hash", "hash_urlsafe"]
"""``server``: ``$opaque:server`` carried in the PDU (v1, v2); ``hash``: the
reference hash in standard Base64 (v3); ``hash_urlsafe``: URL-safe Base64 (v4+)."""


@dataclass(frozen=True)
class RoomVersion:
    """The rules that differ between room versions (defaults: room version 1)."""

    identifier: str
    stable: bool = True
    #: How event IDs are made; ``server`` also means ``auth_events`` and
    #: ``prev_events`` are ``[event_id, {hashes}]`` pairs (v1, v2).
    event_id_format: EventIdFormat = "server"
    #: State resolution algorithm (v1 for room v1, v2 from v2, v2.1 in v12).
    state_resolution: Literal["v1", "v2", "v2.1"] = "v1"
    #: Redactions are authorised by the auth rules, through the redact level
    #: or matching event ID domains (v1, v2: rule 11).
    redaction_auth_rule: bool = True
    #: Signing keys must be valid at the event's ``origin_server_ts`` (v5+).
    enforce_key_validity: bool = False
    #: ``m.room.aliases`` has its own auth rule and keeps ``aliases`` on
    #: redaction (v1-v5).
    special_case_aliases: bool = True
    #: Events must be canonical JSON: no floats, integers in the safe range (v6+).
    strict_canonical_json: bool = False
    #: Power levels auth also checks ``notifications`` (v6+).
    notifications_power_levels: bool = False
    #: ``knock`` join rule and membership (v7+).
    knock: bool = False
    #: ``restricted`` join rule (v8+); ``join_rules`` keeps ``allow`` on redaction.
    restricted: bool = False
    #: Member events keep ``join_authorised_via_users_server`` on redaction (v9+).
    redaction_keeps_authorising_user: bool = False
    #: ``knock_restricted`` join rule (v10+).
    knock_restricted: bool = False
    #: Power level values must be integers, not strings (v10+).
    integer_power_levels: bool = False
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

    @property
    def server_event_ids(self) -> bool:
        """Event IDs are chosen by the sending server and carried in ``event_id``."""
        return self.event_id_format == "server"


ROOM_V1 = RoomVersion(identifier="1")
ROOM_V2 = replace(ROOM_V1, identifier="2", state_resolution="v2")
ROOM_V3 = replace(ROOM_V2, identifier="3", event_id_format="hash", redaction_auth_rule=False)
ROOM_V4 = replace(ROOM_V3, identifier="4", event_id_format="hash_urlsafe")
ROOM_V5 = replace(ROOM_V4, identifier="5", enforce_key_validity=True)
ROOM_V6 = replace(
    ROOM_V5,
    identifier="6",
    special_case_aliases=False,
    strict_canonical_json=True,
    notifications_power_levels=True,
)
ROOM_V7 = replace(ROOM_V6, identifier="7", knock=True)
ROOM_V8 = replace(ROOM_V7, identifier="8", restricted=True)
ROOM_V9 = replace(ROOM_V8, identifier="9", redaction_keeps_authorising_user=True)
ROOM_V10 = replace(ROOM_V9, identifier="10", knock_restricted=True, integer_power_levels=True)
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
    v.identifier: v
    for v in (
        ROOM_V1,
        ROOM_V2,
        ROOM_V3,
        ROOM_V4,
        ROOM_V5,
        ROOM_V6,
        ROOM_V7,
        ROOM_V8,
        ROOM_V9,
        ROOM_V10,
        ROOM_V11,
        ROOM_V12,
    )
}
DEFAULT_ROOM_VERSION = ROOM_V11


def get_room_version(identifier: str) -> RoomVersion | None:
    """Return the version with this identifier, or None if Sceau does not serve it."""
    return KNOWN_ROOM_VERSIONS.get(identifier)
