"""Wakes long-polling /sync requests when something that concerns them happens.

A waiter registers the user and the rooms it cares about *before* it checks
for updates, so a write that lands between the check and the wait still wakes
it. Notifications name rooms or users; a waiter is woken only by those, never
by traffic in rooms it is not in.
"""

import asyncio
from collections import deque
from collections.abc import Iterable

#: Woken waiters resume this many at a time (see :meth:`Notifier._release_slice`).
WAKE_SLICE = 50
#: Long-poll timeouts end on this grid (seconds), one loop timer per step.
TIMEOUT_GRAIN_S = 0.25


def _expire(future: "asyncio.Future[bool]") -> None:
    if not future.done():
        future.set_result(False)


class Timeouts:
    """The timeouts of thousands of long-polls, ended a grid step at a time.

    A loop timer per wait, made and cancelled for every reply, was a visible
    share of a busy server's CPU. Here a wait joins the set of its grid step,
    rounded down (a long-poll may end up to one step early, never late), and
    one timer per step ends what is still waiting then. Short timeouts keep a
    timer of their own.
    """

    def __init__(self, grain_s: float = TIMEOUT_GRAIN_S) -> None:
        self._grain = grain_s
        self._due: dict[int, set[asyncio.Future[bool]]] = {}

    def start(self, future: "asyncio.Future[bool]", timeout: float) -> int | None:
        """End ``future`` with False after about ``timeout`` seconds; its step, if shared."""
        loop = asyncio.get_running_loop()
        if timeout < 4 * self._grain:
            loop.call_later(timeout, _expire, future)
            return None
        step = int((loop.time() + timeout) / self._grain)
        waiting = self._due.get(step)
        if waiting is None:
            waiting = self._due[step] = set()
            loop.call_at(step * self._grain, self._end, step)
        waiting.add(future)
        return step

    def stop(self, future: "asyncio.Future[bool]", step: int | None) -> None:
        """The wait is over: its step's timer no longer needs to end it."""
        if step is not None:
            waiting = self._due.get(step)
            if waiting is not None:
                waiting.discard(future)

    def _end(self, step: int) -> None:
        for future in self._due.pop(step, ()):
            _expire(future)


class Waiter:
    """One pending /sync: woken at most once, then discarded.

    Waking has two steps: :meth:`mark` (from then on the waiter counts as
    woken and :meth:`wait` returns at once) and :meth:`release` (the task
    blocked in :meth:`wait` resumes). The notifier marks every waiter of an
    event at once but releases them a slice at a time.
    """

    __slots__ = ("_future", "_timeouts", "_woken", "room_ids", "user_id")

    def __init__(
        self, user_id: str, room_ids: frozenset[str], timeouts: Timeouts | None = None
    ) -> None:
        self.user_id = user_id
        self.room_ids = room_ids
        self._woken = False
        self._future: asyncio.Future[bool] | None = None
        self._timeouts = timeouts if timeouts is not None else Timeouts()

    def mark(self) -> bool:
        """Count the waiter as woken; False if it already was."""
        if self._woken:
            return False
        self._woken = True
        return True

    def release(self) -> None:
        """Resume the task waiting in :meth:`wait`, if any."""
        future = self._future
        if future is not None and not future.done():
            future.set_result(True)

    @property
    def woken(self) -> bool:
        return self._woken

    async def wait(self, timeout: float) -> bool:
        """Wait until woken or ``timeout`` seconds pass; True if woken.

        One future, and a timeout shared with the waits ending at the same
        time: no task per wait, as ``asyncio.wait_for`` would make for each of
        thousands of long-polls.
        """
        if self._woken:
            return True
        if timeout <= 0:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._future = future
        step = self._timeouts.start(future, timeout)
        try:
            return await future
        finally:
            self._timeouts.stop(future, step)
            self._future = None


class Turn:
    """A place in the notifier's release queue for a sync that was not waiting."""

    __slots__ = ("future",)

    def __init__(self, future: "asyncio.Future[None]") -> None:
        self.future = future

    def release(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class Notifier:
    """In-process fan-out from writers to waiting /sync requests.

    An event in a room of thousands wakes thousands of syncs. Were they all
    resumed at once, the event loop's queue would hold thousands of steps,
    and every step of the next send (its database write, its commit, its
    reply) would wait behind all of them: the next message would reach its
    readers a whole round later. So woken waiters are marked at once but
    released :data:`WAKE_SLICE` at a time from the loop's next turn, each
    slice queued behind what the previous one started; writers keep their
    turn in between.
    """

    def __init__(self, wake_slice: int = WAKE_SLICE) -> None:
        self._by_user: dict[str, set[Waiter]] = {}
        self._by_room: dict[str, set[Waiter]] = {}
        self._slice = wake_slice
        #: Marked waiters (and turns) not yet released, oldest first.
        self._releasing: deque[Waiter | Turn] = deque()
        self._release_scheduled = False
        self._timeouts = Timeouts()
        #: Waiters woken so far (a counter for the metrics).
        self.wakes = 0

    def register(self, user_id: str, room_ids: Iterable[str]) -> Waiter:
        waiter = Waiter(user_id, frozenset(room_ids), self._timeouts)
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
        self.wake_all(self._by_room.get(room_id, ()))

    def notify_users(self, user_ids: Iterable[str]) -> None:
        """Something happened for these users (to-device, account data, invites...)."""
        for user_id in user_ids:
            self.wake_all(self._by_user.get(user_id, ()))

    def wake_all(self, waiters: Iterable[Waiter]) -> None:
        """Mark these waiters woken now; release them a slice at a time."""
        for waiter in list(waiters):
            if waiter.mark():
                self.wakes += 1
                self._releasing.append(waiter)
        if self._releasing and not self._release_scheduled:
            self._schedule_release()

    async def take_turn(self) -> None:
        """Wait behind the woken waiters not yet released, if there are any.

        A sync that has something to compute at once (its client came back
        behind the newest position) queues here like a woken one. Otherwise,
        under load, it would jump the queue, and the event loop would fill
        with the computations of every client that came back at once.
        """
        if not self._releasing:
            return
        turn = Turn(asyncio.get_running_loop().create_future())
        self._releasing.append(turn)
        await turn.future

    def _schedule_release(self) -> None:
        """Release the next slice on the loop's next turn.

        Never at once: writers that finish in the same turn (several events of
        one batch, or several batches) all land before the first sync looks.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): nothing to share it with
            while self._releasing:
                self._releasing.popleft().release()
            return
        self._release_scheduled = True
        loop.call_soon(self._release_slice)

    def _release_slice(self) -> None:
        self._release_scheduled = False
        for _ in range(min(self._slice, len(self._releasing))):
            self._releasing.popleft().release()
        if self._releasing:
            self._schedule_release()

    def waiting_count(self) -> int:
        return sum(len(w) for w in self._by_user.values())

    @staticmethod
    def _discard(index: dict[str, set[Waiter]], key: str, waiter: Waiter) -> None:
        waiters = index.get(key)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del index[key]
