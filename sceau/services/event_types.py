"""The values that travel along the event path, from a send to its hooks.

Kept apart from :mod:`sceau.services.events` (which builds events) and
:mod:`sceau.services.event_writer` (which persists them) so both, and the
persist hooks of other services, can share them.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict, StateKey
from sceau.storage.database import Transaction


@dataclass(frozen=True)
class EventSpec:
    """What a caller wants to send; the service fills in the rest of the PDU."""

    event_type: str
    content: JsonDict
    sender: str
    state_key: str | None = None
    redacts: str | None = None
    #: (device_id, txn_id) for idempotent client sends.
    txn: tuple[str, str] | None = None


@dataclass(frozen=True)
class PersistedEvent:
    """An event just written, as seen by hooks running in the same transaction."""

    event_id: str
    room_id: str
    pdu: JsonDict
    stream_pos: int
    room_version: RoomVersion
    #: Room state (type, state_key) -> event_id just before this event.
    state_before: dict[StateKey, str]


#: Called inside the persisting transaction, once the rows of all its events
#: (one or more, in stream order) are written.
PersistHook = Callable[[Transaction, list[PersistedEvent]], Awaitable[None]]


@dataclass
class RoomDraft:
    """The room as events are being built: head, depth and state, in memory."""

    room_id: str | None
    version: RoomVersion
    head: str | None
    depth: int
    state_group: int | None
    state: dict[StateKey, str]
    pdus: dict[str, JsonDict] = field(default_factory=dict)


@dataclass
class BuiltEvent:
    """An event built and authorised, ready to be written."""

    event_id: str
    pdu: JsonDict
    spec: EventSpec
    state_before: dict[StateKey, str]
    replaces_state: str | None
