"""Work that every sync woken by the same event in a room shares.

When an event wakes the N syncs waiting on a room, most of them hold the same
token and the same filter shape, so their room entries differ only in a few
per-user details. A :class:`SharedRoom` is computed once per
(room, token, position, timeline and state filters): the timeline slice, its
events formatted for no one in particular, the state the clients lack and the
room summary. Each sync then adds what is truly its own (its transaction IDs,
relations as it sees them, its own membership, heroes other than itself).

Concurrent syncs asking for the same key await the same computation.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sceau.storage.events import StoredEvent

T = TypeVar("T")


@dataclass(frozen=True)
class SharedSummary:
    """The room summary without the one part that depends on who asks (heroes exclude them)."""

    joined: int
    invited: int
    #: The first six hero candidates in order, or None when the room has a name or alias.
    hero_candidates: tuple[str, ...] | None

    def for_user(self, user_id: str) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "m.joined_member_count": self.joined,
            "m.invited_member_count": self.invited,
        }
        if self.hero_candidates is not None:
            summary["m.heroes"] = [u for u in self.hero_candidates if u != user_id][:5]
        return summary


@dataclass(frozen=True)
class SharedState:
    """One state event of the response, formatted; ``only_for`` limits it to one user."""

    formatted: dict[str, Any]
    only_for: str | None = None


@dataclass(frozen=True)
class SharedRoom:
    """A joined room's incremental entry as every syncing user sees it alike.

    The formatted events are shared between responses: nothing may mutate them.
    """

    timeline: list[StoredEvent]
    limited: bool
    formatted: list[dict[str, Any]]
    state: list[SharedState] = field(default_factory=list)
    summary: SharedSummary | None = None
    prev_batch: str | None = None

    @property
    def empty(self) -> bool:
        return not self.timeline and not self.limited


class SharedComputations(Generic[T]):
    """At most one computation per key at a time, and its result kept while recent.

    A result is only reused for exactly the same key; keys name immutable
    inputs (stream positions, frozen filters), so a bounded LRU is enough.
    """

    def __init__(self, size: int = 512, on_compute: Callable[[Hashable], None] | None = None):
        self._size = size
        self._entries: OrderedDict[Hashable, asyncio.Task[T]] = OrderedDict()
        #: Called with the key each time a computation really runs (tests).
        self.on_compute = on_compute
        #: Computations run, and requests answered by one already run or running (metrics).
        self.computed = 0
        self.reused = 0

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        task = self._entries.get(key)
        if task is None:
            self.computed += 1
            if self.on_compute is not None:
                self.on_compute(key)
            task = asyncio.ensure_future(compute())
            self._entries[key] = task
            task.add_done_callback(lambda done: self._forget_failure(key, done))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        else:
            self.reused += 1
            self._entries.move_to_end(key)
        if task.done():  # most of N woken syncs come after the first computed it
            return task.result()
        # Shielded: a client that goes away must not cancel the others' result.
        return await asyncio.shield(task)

    def _forget_failure(self, key: Hashable, task: "asyncio.Task[T]") -> None:
        failed = task.cancelled() or task.exception() is not None
        if failed and self._entries.get(key) is task:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
