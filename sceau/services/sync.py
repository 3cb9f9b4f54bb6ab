"""/sync: everything that changed for a user's device since their token.

The room part comes from :mod:`sceau.services.sync_rooms`. Every other stream
(to-device, device lists, presence, account data, receipts, typing, unread
counts...) plugs in as a *section*: a service registers a callable that adds
its part of the response and says whether it found anything. A long-poll
registers with the notifier *before* computing, so no update can slip between
the check and the wait, and sleeps until a write concerning this user lands.
"""

import asyncio
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from sceau.clock import Clock
from sceau.notifier import Notifier
from sceau.protocol.filters import Filter, parse_filter
from sceau.services.sync_rooms import RoomSyncBuilder, RoomSyncRequest
from sceau.services.tokens import SyncToken
from sceau.storage.state import Membership, StateStore
from sceau.streams import ChangeTracker, StreamIdGenerator


@dataclass
class SyncContext:
    """One /sync computation: who, from where, to where, and the response being built."""

    user_id: str
    device_id: str
    since: SyncToken | None
    upto: SyncToken
    full_state: bool
    filter: Filter
    #: The response under construction; sections add to it.
    response: dict[str, Any] = field(default_factory=dict)
    #: Room IDs the user is joined to now (sections use it for ephemeral data).
    joined_room_ids: list[str] = field(default_factory=list)

    @property
    def since_stream(self) -> int | None:
        return None if self.since is None else self.since.stream

    def joined_room(self, room_id: str) -> dict[str, Any]:
        """The response entry of a joined room, created if it had no timeline changes."""
        rooms = self.response.setdefault("rooms", {}).setdefault("join", {})
        return rooms.setdefault(
            room_id, {"timeline": {"events": [], "limited": False}, "state": {"events": []}}
        )


#: Adds its part to ``ctx.response``; returns True if it added anything new.
SyncSection = Callable[[SyncContext], Awaitable[bool]]

#: Runs when a sync starts (e.g. set_presence).
SyncStartHook = Callable[[str, str, str | None], Awaitable[None]]


def default_full_syncs() -> int:
    """Two initial syncs per core (one may wait on the database), at most eight."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


MEMBERSHIP_CACHE_SIZE = 50_000
FILTER_CACHE_SIZE = 10_000


class SyncService:
    def __init__(
        self,
        *,
        clock: Clock,
        notifier: Notifier,
        stream: StreamIdGenerator,
        state: StateStore,
        rooms_builder: RoomSyncBuilder,
        max_timeout_ms: int,
        member_changes: ChangeTracker | None = None,
        full_sync_concurrency: int | None = None,
    ) -> None:
        self._clock = clock
        self._notifier = notifier
        self._stream = stream
        self._state = state
        self._rooms = rooms_builder
        #: Shared with Simplified Sliding Sync.
        self.rooms_builder = rooms_builder
        self._max_timeout_ms = max_timeout_ms
        self._member_changes = member_changes
        #: user -> (position read at, memberships); valid while the user's
        #: membership tracker shows no change after that position.
        self._memberships: OrderedDict[str, tuple[int, list[Membership]]] = OrderedDict()
        self.sections: list[SyncSection] = []
        self.start_hooks: list[SyncStartHook] = []
        #: In-memory serial of typing notifications, part of every token.
        self.typing_position: Callable[[], int] = lambda: 0
        #: Filter JSON text -> parsed filter (immutable), bounded.
        self._filters: OrderedDict[str, Filter] = OrderedDict()
        #: Initial and full-state syncs build every room's state: a few at a time.
        self._full_syncs = asyncio.Semaphore(full_sync_concurrency or default_full_syncs())

    def filter_from_json(self, text: str) -> Filter:
        """The parsed filter; parsed once per distinct text, as every long-poll resends it.

        Raises ``orjson.JSONDecodeError`` or ``FilterError`` (never cached).
        """
        cached = self._filters.get(text)
        if cached is not None:
            self._filters.move_to_end(text)
            return cached
        parsed = parse_filter(orjson.loads(text))
        self._filters[text] = parsed
        while len(self._filters) > FILTER_CACHE_SIZE:
            self._filters.popitem(last=False)
        return parsed

    def current_token(self) -> SyncToken:
        return SyncToken(self._stream.current(), self.typing_position())

    async def sync(
        self,
        user_id: str,
        device_id: str,
        since: SyncToken | None,
        timeout_ms: int,
        full_state: bool,
        sync_filter: Filter,
        set_presence: str | None = None,
    ) -> dict[str, Any]:
        for hook in self.start_hooks:
            await hook(user_id, device_id, set_presence)
        if since is not None:
            if since.stream > self._stream.current():
                # Another worker made this token: wait until this one has read as far.
                await self._stream.catch_up(
                    since.stream, min(timeout_ms, self._max_timeout_ms) / 1000.0
                )
            current = self.current_token()
            # A token from before a restart may carry a typing serial ahead of ours.
            since = SyncToken(min(since.stream, current.stream), min(since.typing, current.typing))
        if since is None or full_state:
            # Answered at once (never a long-poll): hold a slot while it is built.
            async with self._full_syncs:
                return await self._sync_once(user_id, device_id, since, full_state, sync_filter)
        timeout_s = min(timeout_ms, self._max_timeout_ms) / 1000.0
        deadline = self._clock.monotonic() + timeout_s
        #: Whether this sync has had its turn in the notifier's release queue.
        had_turn = False
        while True:
            memberships = await self._memberships_of(user_id)
            joined = [m.room_id for m in memberships if m.membership == "join"]
            waiter = self._notifier.register(user_id, joined)
            try:
                # A long-poll at the newest position (every reply's next one):
                # nothing can be new yet, so wait before computing anything.
                if self._nothing_after(since, full_state, deadline) and await waiter.wait(
                    deadline - self._clock.monotonic()
                ):
                    had_turn = True
                    continue
                if not had_turn:
                    # Something may be new: compute in turn with the syncs woken before.
                    await self._notifier.take_turn()
                    had_turn = True
                ctx = SyncContext(
                    user_id, device_id, since, self.current_token(), full_state, sync_filter
                )
                ctx.joined_room_ids = joined
                found = await self._compute(ctx, memberships)
                remaining = deadline - self._clock.monotonic()
                if found or since is None or full_state or remaining <= 0:
                    return self._finish(ctx)
                woken = await waiter.wait(remaining)
            finally:
                self._notifier.unregister(waiter)
            if not woken:
                return self._finish(ctx)
            # No need to yield here: the notifier releases waiters a loop turn
            # after the write, so writers finishing together have all landed.

    async def _sync_once(
        self,
        user_id: str,
        device_id: str,
        since: SyncToken | None,
        full_state: bool,
        sync_filter: Filter,
    ) -> dict[str, Any]:
        """An initial or full-state sync: computed once, returned without waiting."""
        memberships = await self._memberships_of(user_id)
        ctx = SyncContext(user_id, device_id, since, self.current_token(), full_state, sync_filter)
        ctx.joined_room_ids = [m.room_id for m in memberships if m.membership == "join"]
        await self._compute(ctx, memberships)
        return self._finish(ctx)

    def _nothing_after(self, since: SyncToken | None, full_state: bool, deadline: float) -> bool:
        """Whether an incremental sync's token is the current one, with time left to wait."""
        return (
            since is not None
            and not full_state
            and since == self.current_token()
            and deadline > self._clock.monotonic()
        )

    async def _memberships_of(self, user_id: str) -> list[Membership]:
        cached = self._memberships.get(user_id)
        tracker = self._member_changes
        if cached is not None and tracker is not None:
            read_at, memberships = cached
            if not tracker.changed_since(user_id, read_at):
                self._memberships.move_to_end(user_id)
                return memberships
        read_at = self._stream.current()
        memberships = await self._state.rooms_for_user(user_id)
        if tracker is not None:
            self._memberships[user_id] = (read_at, memberships)
            self._memberships.move_to_end(user_id)
            while len(self._memberships) > MEMBERSHIP_CACHE_SIZE:
                self._memberships.popitem(last=False)
        return memberships

    async def _compute(self, ctx: SyncContext, memberships: list[Any]) -> bool:
        request = RoomSyncRequest(
            ctx.user_id,
            ctx.device_id,
            ctx.since_stream,
            ctx.upto.stream,
            ctx.full_state,
            ctx.filter,
        )
        rooms = await self._rooms.build(request, memberships)
        found = any(rooms.values())
        ctx.response["rooms"] = rooms
        for section in self.sections:
            if await section(ctx):
                found = True
        return found

    def _finish(self, ctx: SyncContext) -> dict[str, Any]:
        response = ctx.response
        rooms = response.get("rooms", {})
        response["rooms"] = {kind: entries for kind, entries in rooms.items() if entries}
        if not response["rooms"]:
            del response["rooms"]
        response["next_batch"] = ctx.upto.encode()
        return response
