"""The Redis channel between the processes of one deployment.

Every process publishes, in order, on one channel: its claim (see
:mod:`sceau.cluster.stream`), the change-tracker records of its writes, the
rooms and users its writes concern (wake-ups) and the caches they make stale.
Redis hands every subscriber the messages in the one order it processed
them, so a claim that covers a write never arrives before what that write
published.

Messages can be lost (Redis restarts, a connection drops, a process dies
before publishing). Each process numbers its messages, so a subscriber sees
the hole: it then tells its trackers that anything up to the publisher's
highest position may have been missed (they answer "maybe" and /sync asks the
database), and wakes every waiting /sync. Nothing is skipped; the cost of a
hole is some queries. A hole is always accounted for before the claim that
reveals it raises the readable position: a /sync reading up to that position
with trackers that still lack the lost records would skip their events for
good. That holds for the claims read back from the hash after a lost
subscription too.

A subscription can also go deaf without an error. Every process hears its
own messages, so one that stops hearing even itself while its publishes go
through resubscribes, which counts as a hole.

Wake-ups wait until the readable position covers the write that caused them:
a /sync woken earlier would read up to a position below it, find nothing, and
sleep through it.
"""

import asyncio
import contextlib
import heapq
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from sceau.cluster.stream import ClusterStream
from sceau.streams import ChangeTracker

log = logging.getLogger("sceau.cluster")

CHANNEL = "sceau:stream"
CLAIMS = "sceau:claims"
#: How often a process re-publishes its claim (a heartbeat).
HEARTBEAT_S = 1.0
#: Heartbeats of its own a process may miss before it calls its subscription deaf.
DEAF_AFTER_BEATS = 5
#: A process not heard of for this long no longer holds readers back (default).
SILENT_S = 30.0

Invalidator = Callable[[str], None]
#: Makes the Redis client from the URL (tests give a fake one).
Connect = Callable[[str], Any]


class Deaf(Exception):
    """Our own messages stopped coming back although they were published."""


def connect_redis(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


class Bus:
    """One process's end of the channel: publishes its own news, applies the others'."""

    def __init__(
        self,
        redis_url: str,
        stream: ClusterStream,
        silent_s: float = SILENT_S,
        heartbeat_s: float = HEARTBEAT_S,
        connect: Connect = connect_redis,
    ) -> None:
        self._url = redis_url
        self._connect = connect
        self._silent_s = silent_s
        self._heartbeat_s = heartbeat_s
        #: A process that could not publish for this long refuses new writes:
        #: well before the others stop waiting for it.
        self._blind_s = silent_s / 3
        self._stream = stream
        self._name = stream.name
        #: (start time, random): a restarted process is a new epoch.
        self._epoch = f"{int(time.time() * 1000):015d}-{secrets.token_hex(4)}"
        self._seq = itertools.count(1)
        self._trackers: dict[str, ChangeTracker] = {}
        self._invalidators: dict[str, Invalidator] = {}
        self._on_learn: dict[str, Invalidator] = {}
        #: What empties each shared cache when news was lost.
        self._clear_all: list[Callable[[], None]] = []
        #: The highest position any process said it had taken.
        self._highest_heard = stream.max_allocated
        self._outbox: list[tuple[str, Any]] = []
        self._outbox_ready = asyncio.Event()
        #: Wake-ups waiting for the readable position: (bound, n, rooms, users).
        self._deferred: list[tuple[int, int, list[str], list[str]]] = []
        self._order = itertools.count()
        #: Per other process: (epoch, last sequence number seen).
        self._seen: dict[str, tuple[str, int]] = {}
        self._heard_at: dict[str, float] = {}
        self._last_published = time.monotonic()
        #: The first of our messages published and not heard back yet: (number, when).
        self._unheard: tuple[int, float] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None
        self._connected = asyncio.Event()
        #: Holes seen in other processes' messages (a counter for the metrics).
        self.holes = 0
        #: Wakes this process's waiters: (rooms, users); set by the notifier.
        self.wake: Callable[[list[str], list[str]], None] = lambda _r, _u: None
        #: Wakes every waiter of this process (after a hole).
        self.wake_all: Callable[[], None] = lambda: None
        stream.on_claim = lambda _claim: self._outbox_ready.set()
        stream.on_safe = self._fire_deferred
        stream.blocked = self._blocked

    # ------------------------------------------------------------ wiring

    def share_tracker(
        self,
        name: str,
        tracker: ChangeTracker,
        on_learn: Invalidator | None = None,
        clear_all: Callable[[], None] | None = None,
    ) -> None:
        """Publish this tracker's records and learn the other processes' ones.

        ``on_learn`` is told each key another process changed (to drop a cache).
        """
        self._trackers[name] = tracker
        if on_learn is not None:
            self._on_learn[name] = on_learn
        if clear_all is not None:
            self._clear_all.append(clear_all)
        tracker.on_record = lambda key, pos: self._queue("t", [name, key, pos])
        # Records heard before the tracker was shared are lost to it.
        tracker.forget_before(self._highest_heard)

    def share_invalidation(
        self, name: str, apply: Invalidator, clear_all: Callable[[], None] | None = None
    ) -> Callable[[str], None]:
        """Register what drops ``name``'s cached entry; returns what publishes a drop.

        ``clear_all`` empties the cache when messages were lost.
        """
        self._invalidators[name] = apply
        if clear_all is not None:
            self._clear_all.append(clear_all)
        return lambda key: self._queue("i", [name, key])

    def notify(self, rooms: Iterable[str], users: Iterable[str]) -> None:
        """Wake waiters here and elsewhere once what this process finished is readable."""
        bound = self._stream.max_finished
        rooms, users = list(rooms), list(users)
        if not rooms and not users:
            return
        self._queue("w", [bound, rooms, users])
        self._defer(bound, rooms, users)

    # ---------------------------------------------------------- lifecycle

    async def start(self, timeout_s: float = 30.0) -> None:
        """Connect, learn the other processes' claims and publish ours."""
        self._redis = self._connect(self._url)
        self._tasks = [
            asyncio.create_task(self._subscribe_forever()),
            asyncio.create_task(self._publish_forever()),
        ]
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    async def stop(self) -> None:
        # A cancellation can be lost (in Python 3.11, asyncio.wait_for swallows
        # it when the awaited result arrives at the same moment), and the loop
        # then goes on: cancel again until every task has ended.
        pending = [task for task in self._tasks if not task.done()]
        while pending:
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.5)
            pending = [task for task in pending if not task.done()]
        for task in self._tasks:
            if not task.cancelled():
                with contextlib.suppress(Exception):
                    task.exception()
        if self._redis is not None:
            await self._redis.aclose()

    # ------------------------------------------------------------ publishing

    def _queue(self, kind: str, item: Any) -> None:
        self._outbox.append((kind, item))
        self._outbox_ready.set()

    async def _publish_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox_ready.wait(), self._heartbeat_s)
            self._outbox_ready.clear()
            items, self._outbox = self._outbox, []
            seq, claim, message = self._message(items)
            try:
                pipe = self._redis.pipeline(transaction=False)
                pipe.hset(CLAIMS, self._name, claim)
                pipe.publish(CHANNEL, message)
                await pipe.execute()
            except Exception as exc:
                log.warning("cannot publish to Redis (%s); retrying", exc)
                await asyncio.sleep(0.2)
                continue
            self._last_published = time.monotonic()
            if self._unheard is None:
                self._unheard = (seq, self._last_published)

    def _message(self, items: list[tuple[str, Any]]) -> tuple[int, bytes, bytes]:
        """Its sequence number, the claim alone (kept in the hash), and the message."""
        seq = next(self._seq)
        body: dict[str, Any] = {
            "n": self._name,
            "e": self._epoch,
            "s": seq,
            "c": self._stream.claim,
            "a": self._stream.max_allocated,
            "ts": time.time(),
        }
        claim = orjson.dumps(body)
        for kind, item in items:
            body.setdefault(kind, []).append(item)
        return seq, claim, orjson.dumps(body)

    def _blocked(self) -> str | None:
        if time.monotonic() - self._last_published > self._blind_s:
            return "Cannot reach the deployment's Redis; retry shortly"
        return None

    # ----------------------------------------------------------- subscribing

    async def _subscribe_forever(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                # Our messages published before this subscription never come back.
                self._unheard = None
                await self._load_claims(after_loss=self._connected.is_set())
                self._connected.set()
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self._heartbeat_s
                    )
                    if message is not None:
                        self._apply(orjson.loads(message["data"]))
                    self._forget_silent()
                    self._check_hearing()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Redis subscription lost (%s); reconnecting", exc)
                # Whatever was published meanwhile is lost: the next message of
                # each process counts as a hole.
                self._seen.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(0.2)

    def _check_hearing(self) -> None:
        """Raise :class:`Deaf` if a message of ours published a while ago never came back."""
        if self._unheard is None:
            return
        _seq, published_at = self._unheard
        waited = time.monotonic() - published_at
        if waited > DEAF_AFTER_BEATS * self._heartbeat_s:
            raise Deaf(f"not even our own messages came back for {waited:.1f} s")

    async def _load_claims(self, after_loss: bool) -> None:
        """Learn the claims kept in the hash (on a resubscription: after the hole it is).

        Messages published while this process was not subscribed are lost to it,
        and the stored claims may cover their positions: the hole must reset the
        trackers before those claims raise the readable position.
        """
        stored = await self._redis.hgetall(CLAIMS)
        bodies = []
        for raw in stored.values():
            body = orjson.loads(raw)
            fresh = time.time() - float(body.get("ts", 0)) < self._silent_s
            if body["n"] != self._name and fresh and not self._stale(body):
                bodies.append(body)
        for body in bodies:
            self._highest_heard = max(self._highest_heard, int(body["a"]))
        if after_loss:
            self._hole(self._highest_heard)
        for body in bodies:
            self._heard(body)

    def _stale(self, body: dict[str, Any]) -> bool:
        """A claim from a process that stopped long ago (its epoch started with its clock)."""
        seen = self._seen.get(body["n"])
        return seen is not None and seen[0] > body["e"]

    def _apply(self, body: dict[str, Any]) -> None:
        name = body["n"]
        if name == self._name:
            if body["e"] == self._epoch:
                self._heard_own(int(body["s"]))
            return
        if self._stale(body):
            return
        seen = self._seen.get(name)
        self._highest_heard = max(self._highest_heard, int(body["a"]))
        if seen is None or seen[0] != body["e"] or body["s"] != seen[1] + 1:
            self._hole(int(body["a"]))
        self._seen[name] = (body["e"], body["s"])
        for tracker_name, key, pos in body.get("t", ()):
            tracker = self._trackers.get(tracker_name)
            if tracker is not None:
                tracker.learn(key, pos)
                forget = self._on_learn.get(tracker_name)
                if forget is not None:
                    forget(key)
        for cache, key in body.get("i", ()):
            apply = self._invalidators.get(cache)
            if apply is not None:
                apply(key)
        for bound, rooms, users in body.get("w", ()):
            self._defer(bound, rooms, users)
        self._heard(body)

    def _heard_own(self, seq: int) -> None:
        """One of our messages came back: the subscription hears the channel."""
        if self._unheard is not None and self._unheard[0] <= seq:
            self._unheard = None

    def _heard(self, body: dict[str, Any]) -> None:
        self._heard_at[body["n"]] = time.monotonic()
        self._stream.heard(body["n"], int(body["c"]))

    def _hole(self, upto: int) -> None:
        self.holes += 1
        log.info("missed messages up to position %d: trackers reset, waiters woken", upto)
        for tracker in self._trackers.values():
            tracker.forget_before(upto)
        for clear in self._clear_all:
            clear()
        self.wake_all()
        self._defer_all(upto)

    def _forget_silent(self) -> None:
        now = time.monotonic()
        for name, heard in list(self._heard_at.items()):
            if now - heard > self._silent_s:
                log.warning(
                    "no news from %s for %.0f s: readers stop waiting for it", name, self._silent_s
                )
                del self._heard_at[name]
                self._stream.forget(name)

    # --------------------------------------------------------- deferred wakes

    def _defer(self, bound: int, rooms: list[str], users: list[str]) -> None:
        if bound <= self._stream.current():
            self.wake(rooms, users)
            return
        heapq.heappush(self._deferred, (bound, next(self._order), rooms, users))

    def _defer_all(self, bound: int) -> None:
        # An empty room and user list at a bound stands for "everyone".
        heapq.heappush(self._deferred, (bound, next(self._order), [], []))
        self._fire_deferred(self._stream.current())

    def _fire_deferred(self, safe: int) -> None:
        while self._deferred and self._deferred[0][0] <= safe:
            _bound, _n, rooms, users = heapq.heappop(self._deferred)
            if rooms or users:
                self.wake(rooms, users)
            else:
                self.wake_all()
