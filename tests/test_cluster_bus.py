"""The Redis bus between processes (sceau/cluster/bus.py) over a fake Redis.

The fake keeps what the bus relies on: one hash, one channel delivered in
publishing order, and the ways a real one fails (a dropped subscription, a
restart that empties the hash, a subscription that silently hears nothing).
Heartbeats are 20 ms, so a test waits a fraction of a second.
"""

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError

from sceau.cluster.bus import CHANNEL, Bus
from sceau.cluster.stream import ClusterStream
from sceau.streams import ChangeTracker

BEAT_S = 0.02


class FakeRedis:
    """One server shared by every process's client."""

    def __init__(self) -> None:
        self.hash: dict[str, bytes] = {}
        self.subscriptions: list[FakePubSub] = []
        #: While False, new subscriptions fail (the server is down for them).
        self.accepting = True
        #: While True, new subscriptions hear nothing (to look between two steps).
        self.muting = False

    def client(self, _url: str) -> "FakeClient":
        return FakeClient(self)

    def publish(self, channel: str, data: bytes) -> None:
        for pubsub in self.subscriptions:
            if channel in pubsub.channels and not pubsub.deaf:
                pubsub.queue.put_nowait(data)

    def drop(self, pubsub: "FakePubSub") -> None:
        """The connection of ``pubsub`` breaks: its next read fails."""
        pubsub.broken = True
        self.subscriptions.remove(pubsub)


class FakePipeline:
    def __init__(self, server: FakeRedis) -> None:
        self._server = server
        self._calls: list[Callable[[], None]] = []

    def hset(self, key: str, field: str, value: bytes) -> None:
        self._calls.append(lambda: self._server.hash.__setitem__(field, value))

    def publish(self, channel: str, data: bytes) -> None:
        self._calls.append(lambda: self._server.publish(channel, data))

    async def execute(self) -> None:
        for call in self._calls:
            call()


class FakePubSub:
    def __init__(self, server: FakeRedis) -> None:
        self._server = server
        self.channels: set[str] = set()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.broken = False
        #: Subscribed, no error, and yet nothing arrives.
        self.deaf = False

    async def subscribe(self, channel: str) -> None:
        if not self._server.accepting:
            raise RedisConnectionError("connection refused")
        self.channels.add(channel)
        self.deaf = self._server.muting
        self._server.subscriptions.append(self)

    async def get_message(self, ignore_subscribe_messages: bool, timeout: float) -> Any:
        if self.broken:
            raise RedisConnectionError("Connection closed by server.")
        try:
            data = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        return {"type": "message", "channel": CHANNEL, "data": data}

    async def aclose(self) -> None:
        if self in self._server.subscriptions:
            self._server.subscriptions.remove(self)


class FakeClient:
    def __init__(self, server: FakeRedis) -> None:
        self._server = server
        self.pubsubs: list[FakePubSub] = []

    def pipeline(self, transaction: bool) -> FakePipeline:
        return FakePipeline(self._server)

    def pubsub(self) -> FakePubSub:
        self.pubsubs.append(FakePubSub(self._server))
        return self.pubsubs[-1]

    async def hgetall(self, key: str) -> dict[str, bytes]:
        return dict(self._server.hash)

    async def aclose(self) -> None:
        pass


class Process:
    """One process's stream, room tracker and bus, as wiring_cluster builds them."""

    def __init__(self, name: str, server: FakeRedis, allocate: Any) -> None:
        self.client: FakeClient | None = None
        self.stream = ClusterStream(name, allocate, 0)

        def connect(url: str) -> FakeClient:
            self.client = server.client(url)
            return self.client

        self.bus = Bus("redis://fake", self.stream, heartbeat_s=BEAT_S, connect=connect)
        self.rooms = ChangeTracker(0)

    async def start(self) -> None:
        await self.bus.start()
        self.bus.share_tracker("room", self.rooms)

    async def write(self, room_id: str) -> int:
        async with self.stream.next_position() as position:
            self.rooms.record(room_id, position)
        return position

    def subscription(self) -> FakePubSub:
        assert self.client is not None
        return self.client.pubsubs[-1]


async def started(server: FakeRedis, *names: str) -> list[Process]:
    sequence = itertools.count(1)

    async def allocate(count: int) -> list[int]:
        return [next(sequence) for _ in range(count)]

    processes = [Process(name, server, allocate) for name in names]
    for process in processes:
        await process.start()
    return processes


def stored_claim(server: FakeRedis, name: str) -> int:
    raw = server.hash.get(name)
    return -1 if raw is None else int(orjson.loads(raw)["c"])


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    """Wait (polling each heartbeat) until ``condition`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"never happened: {what}"
        await asyncio.sleep(BEAT_S / 2)


def run(scenario: Callable[[FakeRedis], Awaitable[list[Process]]]) -> None:
    async def main() -> None:
        processes = await scenario(FakeRedis())
        for process in processes:
            await process.bus.stop()

    asyncio.run(main())


def test_claims_read_back_after_a_lost_subscription_do_not_skip_what_was_missed() -> None:
    async def scenario(server: FakeRedis) -> list[Process]:
        writer, reader = await started(server, "writer", "reader")
        first = await writer.write("!a")
        await until(lambda: reader.stream.current() >= first, "reader reads the first write")
        # The reader's subscription breaks and stays down while the writer goes on.
        server.accepting = False
        server.drop(reader.subscription())
        await asyncio.sleep(BEAT_S * 3)
        second = await writer.write("!b")
        await until(lambda: stored_claim(server, "writer") >= second, "the claim is stored")
        # Back up, but the new subscription hears no message yet: the claim in
        # the hash alone covers a write whose record the reader never got.
        holes = reader.bus.holes
        server.muting, server.accepting = True, True
        await until(lambda: reader.stream.current() >= second, "reader reads the second write")
        # Whatever the reader reads up to, its tracker must not call "!b" unchanged.
        assert reader.rooms.changed_since("!b", first)
        assert reader.bus.holes > holes
        return [writer, reader]

    run(scenario)


def test_a_subscription_that_hears_nothing_not_even_itself_is_renewed() -> None:
    async def scenario(server: FakeRedis) -> list[Process]:
        writer, reader = await started(server, "writer", "reader")
        deaf = reader.subscription()
        deaf.deaf = True
        holes = reader.bus.holes
        position = await writer.write("!a")
        await until(lambda: reader.stream.current() >= position, "the deaf reader recovers")
        assert reader.subscription() is not deaf
        assert reader.bus.holes > holes
        assert reader.rooms.changed_since("!a", position - 1)
        return [writer, reader]

    run(scenario)


def test_a_subscription_that_hears_its_own_heartbeats_stays() -> None:
    async def scenario(server: FakeRedis) -> list[Process]:
        (alone,) = await started(server, "alone")
        subscription = alone.subscription()
        await asyncio.sleep(BEAT_S * 20)
        assert alone.subscription() is subscription
        assert alone.bus.holes == 0
        return [alone]

    run(scenario)
