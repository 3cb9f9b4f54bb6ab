"""Stream positions: the monotonic counter behind sync tokens.

Every persisted update (room events, to-device messages, device-list changes,
receipts, account data, presence...) takes its position from one shared
:class:`StreamIdGenerator`. Positions are handed out before the write commits,
so concurrent writers may finish out of order; :meth:`current` only advances
past a position once every lower one has finished, so a reader that has seen
position N has seen everything at or below N.
"""

import heapq
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class StreamIdGenerator:
    """Allocates positions and tracks which have been persisted."""

    def __init__(self, start: int) -> None:
        self._last_allocated = start
        self._current = start
        self._in_flight: list[int] = []
        self._finished: set[int] = set()

    @asynccontextmanager
    async def next_position(self) -> AsyncIterator[int]:
        """Reserve a position for a write; it becomes visible when the block ends."""
        self._last_allocated += 1
        position = self._last_allocated
        heapq.heappush(self._in_flight, position)
        try:
            yield position
        finally:
            self._finish(position)

    @asynccontextmanager
    async def next_positions(self, count: int) -> AsyncIterator[list[int]]:
        """Reserve ``count`` consecutive positions for one write (e.g. a new room)."""
        positions = []
        for _ in range(count):
            self._last_allocated += 1
            positions.append(self._last_allocated)
            heapq.heappush(self._in_flight, self._last_allocated)
        try:
            yield positions
        finally:
            for position in positions:
                self._finish(position)

    def _finish(self, position: int) -> None:
        self._finished.add(position)
        while self._in_flight and self._in_flight[0] in self._finished:
            done = heapq.heappop(self._in_flight)
            self._finished.discard(done)
            self._current = done
        if not self._in_flight:
            self._current = self._last_allocated

    def current(self) -> int:
        """The highest position below which every write has finished."""
        return self._current

    async def catch_up(self, position: int, timeout_s: float) -> None:
        """One process made every token it sees: nothing to wait for (a token
        from before a restart is simply read from :meth:`current`)."""


class ChangeTracker:
    """Remembers, per key, the last stream position at which the key changed.

    Lets a /sync skip a query when nothing for that key (a user, a room, a
    device) changed since the client's token. It knows nothing about changes
    before it was created, or about keys it had to forget to stay bounded, so
    for tokens older than :attr:`earliest` it answers "maybe" (True), and the
    caller queries as before. It is fed by the write path only.
    """

    def __init__(self, start: int, max_keys: int = 100_000) -> None:
        self.earliest = start
        self._max_keys = max_keys
        self._last: OrderedDict[str, int] = OrderedDict()
        self._latest = start
        #: Told of every change recorded here (several processes: the bus publishes it).
        self.on_record: Callable[[str, int], None] | None = None

    def record(self, key: str, position: int) -> None:
        self._store(key, position)
        if self.on_record is not None:
            self.on_record(key, position)

    def learn(self, key: str, position: int) -> None:
        """Record a change another process made (not told to :attr:`on_record`)."""
        if position > self._last.get(key, self.earliest):
            self._store(key, position)

    def _store(self, key: str, position: int) -> None:
        self._last.pop(key, None)
        self._last[key] = position
        if position > self._latest:
            self._latest = position
        while len(self._last) > self._max_keys:
            _, forgotten = self._last.popitem(last=False)
            self.earliest = max(self.earliest, forgotten)

    def forget_before(self, position: int) -> None:
        """Changes up to ``position`` may have been missed: answer "maybe" for older tokens."""
        self.earliest = max(self.earliest, position)

    def changed_since(self, key: str, since: int | None) -> bool:
        """False only when the key certainly did not change after ``since``."""
        if since is None or since < self.earliest:
            return True
        return self._last.get(key, self.earliest) > since

    def last_change(self, key: str) -> int | None:
        """The last position at which the key changed, if it changed since :attr:`earliest`."""
        return self._last.get(key)

    def any_changed_since(self, since: int | None) -> bool:
        """False only when no key at all changed after ``since``."""
        if since is None or since < self.earliest:
            return True
        return self._latest > since
