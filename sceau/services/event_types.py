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
from sceau.storage.events import TxnKey


@dataclass(frozen=True)
class ClientTxn:
    """A client's transaction: its device, its ID, and the request path it was sent to.

    The spec scopes a transaction ID to the device and the request's path:
    the same ID sent to another room, event type or endpoint is another
    request, so all of them are part of the key (the room is the send's).
    """

    device_id: str
    txn_id: str
    #: "send" (``/send/{eventType}/{txnId}``) or "redact" (``/redact/{eventId}/{txnId}``).
    endpoint: str
    #: The endpoint's other path parameter: the event type, or the redacted event's ID.
    path_param: str

    def key(self, user_id: str, room_id: str) -> TxnKey:
        """The stored key: the room completes the path, the sender the device."""
        return TxnKey(user_id, self.device_id, self.txn_id, room_id, self.endpoint, self.path_param)


@dataclass(frozen=True)
class EventSpec:
    """What a caller wants to send; the service fills in the rest of the PDU."""

    event_type: str
    content: JsonDict
    sender: str
    state_key: str | None = None
    redacts: str | None = None
    #: The client's transaction, for idempotent client sends.
    txn: ClientTxn | None = None
    #: Another server's signature to add before the event is written (an
    #: invite to its user): given (event_id, pdu), returns the countersigned pdu.
    countersign: "Callable[[str, JsonDict], Awaitable[JsonDict]] | None" = None


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


#: How many prev_events a new local event cites at most (Synapse's limit too).
MAX_PREV_EVENTS = 10


@dataclass
class RoomDraft:
    """The room as events are being built: its forward extremities and current state.

    Owned by the event service and changed only under the room's lock. In
    the usual case there is a single extremity and every new event simply
    extends it; events received over federation can fork the graph, and the
    next local event then merges the branches by citing them all.
    """

    room_id: str | None
    version: RoomVersion
    #: Forward extremities: event ID -> depth.
    extremities: dict[str, int]
    #: State group of the current state (None until the first state event).
    state_group: int | None
    #: Current state, resolved over the extremities.
    state: dict[StateKey, str]
    pdus: dict[str, JsonDict] = field(default_factory=dict)
    #: State after events built in this draft's lifetime (bounded by the service).
    after_states: dict[str, dict[StateKey, str]] = field(default_factory=dict)
    #: What room_forward_extremities holds (empty while the room is a chain).
    stored_extremities: set[str] = field(default_factory=set)

    @property
    def depth(self) -> int:
        """The greatest depth among the extremities (0 for a room not yet created)."""
        return max(self.extremities.values(), default=0)

    def prev_events(self) -> list[str]:
        """The extremities a new local event cites: the deepest ``MAX_PREV_EVENTS``."""
        if len(self.extremities) == 1:
            return list(self.extremities)
        ranked = sorted(self.extremities.items(), key=lambda item: (-item[1], item[0]))
        return [eid for eid, _ in ranked[:MAX_PREV_EVENTS]]

    def advance(
        self, event_id: str, prev_events: list[str], depth: int, after: dict[StateKey, str]
    ) -> None:
        """The new event replaces the extremities it cites; ``after`` is the state after it."""
        for prev in prev_events:
            self.extremities.pop(prev, None)
        self.extremities[event_id] = depth
        self.after_states[event_id] = after

    def forget_inner_states(self) -> None:
        """Keep the states after the extremities only (called between batches)."""
        if len(self.after_states) > len(self.extremities):
            self.after_states = {
                eid: state for eid, state in self.after_states.items() if eid in self.extremities
            }


@dataclass(frozen=True)
class StateDelta:
    """A state written as a new group: the keys that differ from the current state.

    ``full`` marks a complete snapshot instead (some key of the current
    state is absent from it, which a delta cannot say).
    """

    entries: dict[StateKey, str]
    full: bool = False

    @staticmethod
    def between(current: dict[StateKey, str], new: dict[StateKey, str]) -> "StateDelta":
        if any(key not in new for key in current):
            return StateDelta(dict(new), full=True)
        return StateDelta({key: eid for key, eid in new.items() if current.get(key) != eid})


@dataclass(frozen=True)
class CurrentUpdate:
    """How an event changes the room's current state, when not simply by being applied.

    ``changes`` maps each key whose current event changes to (event ID,
    membership) or None when the key leaves the current state. ``group`` is
    ``"after"`` when the current state is now the state after this event,
    ``"keep"`` when the current state group does not change, or the full
    new current state when resolution produced a state of its own.
    """

    changes: dict[StateKey, tuple[str, str | None] | None]
    group: str | StateDelta


@dataclass
class BuiltEvent:
    """An event built (or received) and authorised, ready to be written."""

    event_id: str
    pdu: JsonDict
    spec: EventSpec
    state_before: dict[StateKey, str]
    replaces_state: str | None
    #: Set when the state before this event is not the current state the
    #: batch has reached (an event on another branch): written as a new group.
    new_state_before: StateDelta | None = None
    #: None: the event extends the single chain and, if a state event,
    #: becomes current. Otherwise, the explicit change to the current state.
    current: CurrentUpdate | None = None
    #: State event IDs this event's states cite that may be held only apart
    #: from the timeline (fetched for a gap, soft-failed): written as state history.
    foreign_state: tuple[str, ...] = ()
    #: The event is held as state history: its row moves onto the timeline.
    replaces_history: bool = False
