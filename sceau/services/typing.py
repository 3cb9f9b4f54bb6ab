"""Typing notifications: in memory only, with their own serial in the sync token.

Each (room, user) holds an expiry time on the injected clock. Expired entries
are dropped whenever the state is read, and a ``loop.call_later`` wake-up
drops them on time too, so a long-polling /sync sees the typing stop without
any background task.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.clock import Clock
from sceau.errors import forbidden, invalid_param
from sceau.notifier import Notifier
from sceau.services.sync import SyncContext
from sceau.storage.state import StateStore

DEFAULT_TIMEOUT_MS = 30_000
#: A client may ask for longer, but nobody types for more than two minutes.
MAX_TIMEOUT_MS = 120_000


def add_ephemeral(ctx: SyncContext, room_id: str, event: dict[str, Any]) -> None:
    """Append an ephemeral event to a joined room's entry in the sync response."""
    room = ctx.joined_room(room_id)
    room.setdefault("ephemeral", {"events": []}).setdefault("events", []).append(event)


def wanted_rooms(ctx: SyncContext, event_type: str) -> list[str]:
    """Joined rooms whose ephemeral filter lets ``event_type`` through."""
    room_filter = ctx.filter.room
    return [
        room_id
        for room_id in ctx.joined_room_ids
        if room_filter.matches_room(room_id)
        and room_filter.ephemeral.matches({"type": event_type, "room_id": room_id})
    ]


def newly_joined_rooms(ctx: SyncContext) -> set[str]:
    """Rooms whose entry in this response carries the user's own join (an incremental join)."""
    if ctx.since is None:
        return set()
    found = set()
    for room_id, room in ctx.response.get("rooms", {}).get("join", {}).items():
        for event in room.get("timeline", {}).get("events", []):
            content = event.get("content")
            if (
                event.get("type") == "m.room.member"
                and event.get("state_key") == ctx.user_id
                and isinstance(content, dict)
                and content.get("membership") == "join"
            ):
                found.add(room_id)
                break
    return found


class TypingService:
    def __init__(self, *, clock: Clock, notifier: Notifier, state: StateStore) -> None:
        self._clock = clock
        self._notifier = notifier
        self._state = state
        #: room -> user -> expiry (seconds on the monotonic clock).
        self._typing: dict[str, dict[str, float]] = {}
        #: room -> the serial of its last change.
        self._changed: dict[str, int] = {}
        self._serial = 0
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        #: Called with (room, user, typing, timeout ms) on every accepted update (federation).
        self.hooks: list[Callable[[str, str, bool, int], Awaitable[None]]] = []

    def position(self) -> int:
        """The typing serial: part of every sync token."""
        return self._serial

    async def set_typing(
        self, user_id: str, room_id: str, typing: bool, timeout_ms: int | None
    ) -> None:
        if timeout_ms is not None and timeout_ms < 0:
            raise invalid_param("'timeout' must not be negative")
        if await self._state.membership(room_id, user_id) != "join":
            raise forbidden("You are not joined to this room")
        self.expire_due()
        users = self._typing.setdefault(room_id, {})
        if typing:
            timeout = min(timeout_ms or DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS) / 1000.0
            was_typing = user_id in users
            users[user_id] = self._clock.monotonic() + timeout
            self._schedule(room_id, user_id, timeout)
            if not was_typing:
                self._room_changed(room_id)
        elif user_id in users:
            self._stop(room_id, user_id)
            self._room_changed(room_id)
        for hook in self.hooks:
            await hook(
                room_id, user_id, typing, min(timeout_ms or DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS)
            )

    def apply_remote(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> bool:
        """Another process accepted this update (it checked membership); True if it changed."""
        users = self._typing.setdefault(room_id, {})
        if typing:
            was_typing = user_id in users
            users[user_id] = self._clock.monotonic() + timeout_ms / 1000.0
            self._schedule(room_id, user_id, timeout_ms / 1000.0)
            if was_typing:
                return False
        elif user_id in users:
            self._stop(room_id, user_id)
        else:
            return False
        self._serial += 1
        self._changed[room_id] = self._serial
        return True

    async def on_membership(self, user_id: str, room_id: str, membership: str) -> None:
        """A member who leaves stops typing."""
        if membership != "join" and user_id in self._typing.get(room_id, {}):
            self._stop(room_id, user_id)
            self._room_changed(room_id)

    def typing_users(self, room_id: str) -> list[str]:
        now = self._clock.monotonic()
        return sorted(u for u, expiry in self._typing.get(room_id, {}).items() if expiry > now)

    def expire_due(self) -> None:
        """Drop every typing entry whose time has passed, waking the rooms concerned."""
        now = self._clock.monotonic()
        for room_id, users in list(self._typing.items()):
            expired = [u for u, expiry in users.items() if expiry <= now]
            for user_id in expired:
                self._stop(room_id, user_id)
            if expired:
                self._room_changed(room_id)

    async def sync_section(self, ctx: SyncContext) -> bool:
        """m.typing in each joined room whose typing list changed since the token."""
        self.expire_due()
        since = None if ctx.since is None else ctx.since.typing
        fresh = newly_joined_rooms(ctx)
        found = False
        for room_id in wanted_rooms(ctx, "m.typing"):
            whole = since is None or ctx.full_state or room_id in fresh
            if not whole and not since < self._changed.get(room_id, 0) <= ctx.upto.typing:
                continue  # nothing changed: the usual case, decided before any sorting
            users = self.typing_users(room_id)
            if whole and not users:
                continue
            add_ephemeral(ctx, room_id, {"type": "m.typing", "content": {"user_ids": users}})
            found = True
        return found

    def _stop(self, room_id: str, user_id: str) -> None:
        users = self._typing.get(room_id)
        if users is not None:
            users.pop(user_id, None)
            if not users:
                del self._typing[room_id]
        timer = self._timers.pop((room_id, user_id), None)
        if timer is not None:
            timer.cancel()

    def _schedule(self, room_id: str, user_id: str, timeout: float) -> None:
        previous = self._timers.pop((room_id, user_id), None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        # A little slack so the entry has surely expired when the timer runs.
        self._timers[(room_id, user_id)] = loop.call_later(timeout + 0.01, self.expire_due)

    def _room_changed(self, room_id: str) -> None:
        self._serial += 1
        self._changed[room_id] = self._serial
        self._notifier.notify_room(room_id)
