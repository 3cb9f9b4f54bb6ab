"""The newest events of each busy room, kept in memory for incremental /sync.

When a message lands in a room, every member's long-poll wakes up and asks
for the events after its token: the same few events, read once per member.
The event service, which writes every room event under the room's lock,
appends each event here once its transaction has committed, so for each
cached room this holds *every* event after its ``floor`` position. A sync
whose token is at or past the floor is answered from memory; an older token
goes to the database as before.
"""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sceau.storage.events import StoredEvent


@dataclass
class _RoomTail:
    #: Every event of the room after this position is in ``events``.
    floor: int
    events: list[StoredEvent] = field(default_factory=list)


class RecentEvents:
    """Bounded per-room tails of the event stream, fed by the writer only."""

    def __init__(
        self, per_room: int = 50, max_rooms: int = 5_000, max_events: int = 10_000
    ) -> None:
        self._per_room = per_room
        self._max_rooms = max_rooms
        #: An event held here costs about 2.7 KB: rooms written least recently
        #: go first once all tails together hold more (was only 50 x 5,000).
        self._max_events = max_events
        self._held = 0
        self._rooms: OrderedDict[str, _RoomTail] = OrderedDict()
        #: Told of every append and forget (several processes: the bus copies them).
        self.on_append: Callable[[str, list[StoredEvent]], None] | None = None
        self.on_forget: Callable[[str], None] | None = None

    def append(self, room_id: str, events: list[StoredEvent]) -> None:
        """Events just committed to one room, in stream order (see :meth:`learn`)."""
        self.learn(room_id, events)
        if self.on_append is not None and events:
            self.on_append(room_id, events)

    def learn(self, room_id: str, events: list[StoredEvent]) -> None:
        """Events just committed to one room, in stream order.

        The caller holds the room's write lock, so every earlier event of the
        room has committed: a new tail can start right before these.
        """
        if not events:
            return
        tail = self._drop(room_id)
        if tail is None:
            tail = _RoomTail(floor=events[0].stream_pos - 1)
        tail.events.extend(events)
        overflow = len(tail.events) - self._per_room
        if overflow > 0:
            tail.floor = tail.events[overflow - 1].stream_pos
            del tail.events[:overflow]
        self._rooms[room_id] = tail
        self._held += len(tail.events)
        while self._rooms and (len(self._rooms) > self._max_rooms or self._held > self._max_events):
            self._drop(next(iter(self._rooms)))

    def _drop(self, room_id: str) -> _RoomTail | None:
        """Take a room's tail out, keeping the count of events held."""
        tail = self._rooms.pop(room_id, None)
        if tail is not None:
            self._held -= len(tail.events)
        return tail

    def __len__(self) -> int:
        """Events held, over every room's tail."""
        return self._held

    def forget(self, room_id: str) -> None:
        """Drop a room's tail (an event in it was rewritten, e.g. redacted)."""
        self._drop(room_id)
        if self.on_forget is not None:
            self.on_forget(room_id)

    def forget_learnt(self, room_id: str | None) -> None:
        """Another process dropped a room's tail (None: news was lost, drop every tail)."""
        if room_id is None:
            self._rooms.clear()
            self._held = 0
        else:
            self._drop(room_id)

    def newest(
        self,
        room_id: str,
        *,
        after: int,
        before: int,
        limit: int,
        types: list[str] | None = None,
    ) -> list[StoredEvent] | None:
        """Events with ``after < position < before``, newest first, at most ``limit``.

        None when the cache cannot vouch for the whole range (the room is not
        cached or ``after`` is older than its floor): ask the database then.
        """
        tail = self._rooms.get(room_id)
        if tail is None or after < tail.floor:
            return None
        found: list[StoredEvent] = []
        for event in reversed(tail.events):
            if event.stream_pos <= after:
                break
            if event.stream_pos >= before or (types is not None and event.type not in types):
                continue
            found.append(event)
            if len(found) >= limit:
                break
        return found
