"""Wakes long-polling /sync requests when something that concerns them happens.

A waiter registers the user and the rooms it cares about *before* it checks
for updates, so a write that lands between the check and the wait still wakes
it. Notifications name rooms or users; a waiter is woken only by those, never
by traffic in rooms it is not in.
"""

import asyncio
from collections.abc import Iterable


class Waiter:
    """One pending /sync: woken at most once, then discarded."""

    def __init__(self, user_id: str, room_ids: frozenset[str]) -> None:
        self.user_id = user_id
        self.room_ids = room_ids
        self._event = asyncio.Event()

    def wake(self) -> bool:
        """Wake the waiter; False if it was already woken."""
        if self._event.is_set():
            return False
        self._event.set()
        return True

    @property
    def woken(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float) -> bool:
        """Wait until woken or ``timeout`` seconds pass; True if woken."""
        if self._event.is_set():
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Notifier:
    """In-process fan-out from writers to waiting /sync requests."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[Waiter]] = {}
        self._by_room: dict[str, set[Waiter]] = {}
        #: Waiters woken so far (a counter for the metrics).
        self.wakes = 0

    def register(self, user_id: str, room_ids: Iterable[str]) -> Waiter:
        waiter = Waiter(user_id, frozenset(room_ids))
        self._by_user.setdefault(user_id, set()).add(waiter)
        for room_id in waiter.room_ids:
            self._by_room.setdefault(room_id, set()).add(waiter)
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        self._discard(self._by_user, waiter.user_id, waiter)
        for room_id in waiter.room_ids:
            self._discard(self._by_room, room_id, waiter)

    def notify_room(self, room_id: str) -> None:
        """Something happened in a room: wake everyone waiting on it."""
        for waiter in list(self._by_room.get(room_id, ())):
            self.wakes += waiter.wake()

    def notify_users(self, user_ids: Iterable[str]) -> None:
        """Something happened for these users (to-device, account data, invites...)."""
        for user_id in user_ids:
            for waiter in list(self._by_user.get(user_id, ())):
                self.wakes += waiter.wake()

    def waiting_count(self) -> int:
        return sum(len(w) for w in self._by_user.values())

    @staticmethod
    def _discard(index: dict[str, set[Waiter]], key: str, waiter: Waiter) -> None:
        waiters = index.get(key)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del index[key]
