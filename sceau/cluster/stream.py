"""Stream positions shared by several writing processes.

Each process takes positions from one PostgreSQL sequence, so positions are
unique and increase in the order they are taken, but processes finish their
writes out of order. Each process therefore *claims* a position C: every
position it took at or below C has finished, and every position it takes
later will be above C. Readers may read up to the smallest claim of all
processes (:meth:`ClusterStream.current`): nothing below it is still being
written, so nothing is skipped, and the client's next token starts there, so
nothing is delivered twice.

An idle process (nothing taken and unfinished, no request to the sequence
under way) may adopt the highest claim it has heard of: its next position
comes from the sequence after that claim was made, so it is higher. That keeps
an idle process from holding the others back without any query.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sceau.errors import MatrixError

Allocate = Callable[[int], Awaitable[list[int]]]


class ClusterUnavailable(MatrixError):
    """This process cannot vouch for its positions (Redis silent): retry later."""

    def __init__(self, reason: str) -> None:
        super().__init__(503, "M_UNKNOWN", reason)


class ClusterStream:
    """Same interface as :class:`sceau.streams.StreamIdGenerator`, across processes."""

    def __init__(self, name: str, allocate: Allocate, start: int) -> None:
        self.name = name
        self._allocate = allocate
        self._in_flight: set[int] = set()
        self._pending = 0
        #: Highest position this process has finished.
        self.max_finished = start
        #: Highest position this process has taken.
        self.max_allocated = start
        self._claim = start
        #: Latest claim heard of per process (this one included).
        self._claims: dict[str, int] = {name: start}
        self._safe = start
        #: Called when this process's claim rises (the bus publishes it).
        self.on_claim: Callable[[int], None] = lambda _claim: None
        #: Called when the readable position rises (deferred wake-ups fire).
        self.on_safe: Callable[[int], None] = lambda _safe: None
        #: Set by the bus: None while writes may go on, else why they may not.
        self.blocked: Callable[[], str | None] = lambda: None
        self._catching_up: list[tuple[int, asyncio.Future[None]]] = []

    @asynccontextmanager
    async def next_position(self) -> AsyncIterator[int]:
        async with self.next_positions(1) as positions:
            yield positions[0]

    @asynccontextmanager
    async def next_positions(self, count: int) -> AsyncIterator[list[int]]:
        """Reserve ``count`` ascending positions; they count as finished when the block ends."""
        reason = self.blocked()
        if reason is not None:
            raise ClusterUnavailable(reason)
        self._pending += 1
        try:
            positions = await self._allocate(count)
        finally:
            self._pending -= 1
        self._in_flight.update(positions)
        self.max_allocated = max(self.max_allocated, positions[-1])
        try:
            yield positions
        finally:
            self._in_flight.difference_update(positions)
            self.max_finished = max(self.max_finished, positions[-1])
            self._advance()

    def current(self) -> int:
        """The highest position below which every process has finished."""
        return self._safe

    async def catch_up(self, position: int, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) until :meth:`current` reaches ``position``.

        A token made by a process that had heard of more than this one: reading
        from a lower position would deliver again what the client already has.
        """
        if position <= self._safe:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (position, future)
        self._catching_up.append(entry)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), timeout_s)
        finally:
            if entry in self._catching_up:
                self._catching_up.remove(entry)

    @property
    def claim(self) -> int:
        return self._claim

    def heard(self, name: str, claim: int) -> None:
        """Another process claims ``claim`` (or restarted and claims it anew)."""
        self._claims[name] = claim
        self._advance()

    def forget(self, name: str) -> None:
        """A process went away for good (its claim no longer holds readers back)."""
        if name != self.name and self._claims.pop(name, None) is not None:
            self._advance()

    def claims(self) -> dict[str, int]:
        return dict(self._claims)

    def _advance(self) -> None:
        claim = self._claim
        if self._pending == 0:
            if self._in_flight:
                claim = max(claim, min(self._in_flight) - 1)
            else:
                claim = max(claim, self.max_finished, max(self._claims.values()))
        if claim > self._claim:
            self._claim = claim
            self._claims[self.name] = claim
            self.on_claim(claim)
        safe = min(self._claims.values())
        if safe > self._safe:
            self._safe = safe
            self.on_safe(safe)
            for position, future in self._catching_up:
                if position <= safe and not future.done():
                    future.set_result(None)
