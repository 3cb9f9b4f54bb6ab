"""The notifier of a process among several: same interface, wake-ups through the bus."""

from collections.abc import Iterable
from typing import Any

from sceau.cluster.bus import Bus
from sceau.notifier import Notifier, Waiter


class ClusterNotifier:
    """Waiters are this process's; notifications reach every process's waiters.

    It wraps the in-process :class:`~sceau.notifier.Notifier` (which still
    holds and wakes this process's waiters) and sends each notification
    through the bus, which delivers it here as elsewhere once the readable
    position covers what this process had finished when it was made.
    """

    def __init__(self, local: Notifier, bus: Bus) -> None:
        self._local = local
        self._bus = bus
        self._waiters: set[Waiter] = set()
        bus.wake = self.wake_here
        bus.wake_all = self.wake_everyone

    def register(self, user_id: str, room_ids: Iterable[str]) -> Waiter:
        waiter = self._local.register(user_id, room_ids)
        self._waiters.add(waiter)
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        self._waiters.discard(waiter)
        self._local.unregister(waiter)

    def notify_room(self, room_id: str) -> None:
        self._bus.notify([room_id], [])

    def notify_users(self, user_ids: Iterable[str]) -> None:
        self._bus.notify([], user_ids)

    def wake_everyone(self) -> None:
        """Wake every waiter of this process (after news may have been lost)."""
        self._local.wake_all(self._waiters)

    def wake_here(self, rooms: list[str], users: list[str]) -> None:
        """Wake this process's waiters only (the bus calls it once the position allows)."""
        for room_id in rooms:
            self._local.notify_room(room_id)
        if users:
            self._local.notify_users(users)

    def __getattr__(self, name: str) -> Any:
        # Everything else (counters, waiting_count...) is the local notifier's.
        return getattr(self._local, name)
