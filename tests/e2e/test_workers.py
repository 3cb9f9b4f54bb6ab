"""Several ``sceau serve --worker`` processes on one PostgreSQL, with Redis between them.

Real processes: a private ``redis-server``, a fresh PostgreSQL database, and
one Sceau process per worker. Every assertion is about what clients see
(which events, how many times), never about how fast.

The tests share one deployment (starting six processes is most of a small
test's time). Each test has users and rooms of its own, and leaves the
deployment running: a worker it kills is started again, except ``sync3``,
which one test kills for good and no other test uses.
"""

import asyncio
from collections.abc import Awaitable, Iterator
from typing import Any

import httpx
import pytest

from sceau.cluster.replication import room_writer
from tests.conftest import require_postgres, require_system_package
from tests.e2e.server import terminate_connections
from tests.e2e.workers_support import (
    Client,
    Cluster,
    Reader,
    RedisServer,
    assert_exactly_once,
    has_body,
    register,
    send_many,
    sync_until,
)

pytestmark = pytest.mark.e2e

ROLES = {
    "main": ["main"],
    "writer1": ["event_writer"],
    "writer2": ["event_writer"],
    "sync1": ["sync"],
    "sync2": ["sync"],
    # Killed for good by one test; no other test sends or reads through it.
    "sync3": ["sync"],
}
#: The workers every test may use, running at its start.
KEPT = [name for name in ROLES if name != "sync3"]
#: The workers that write rooms.
WRITERS = ["writer1", "writer2"]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    require_postgres()
    binary = require_system_package("redis-server", "redis-server")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_cluster(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Iterator[Cluster]:
    # A process silent for 9 s stops holding the others back (the default is 30 s).
    cluster = Cluster(
        tmp_path_factory.mktemp("workers"), redis_server.url, ROLES, {"dead_after_s": 9}
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(shared_cluster: Cluster, redis_server: RedisServer) -> Cluster:
    """The shared deployment, running (a test that failed half-way may have left it down)."""
    if not redis_server.running():
        redis_server.start()
    shared_cluster.restart_stopped(KEPT)
    return shared_cluster


def test_a_message_sent_through_one_worker_wakes_a_sync_held_by_another(
    cluster: Cluster,
) -> None:
    main, sync1 = cluster.url("main"), cluster.url("sync1")

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            alice = await register(http, main, "alice-wake")
            bob = await register(http, sync1, "bob-wake")
            room = await alice.ok(main, "POST", "/createRoom", json={"preset": "public_chat"})
            room_id = room["room_id"]
            # Bob joins through the sync worker: the join is handed to the room's writer.
            await bob.ok(sync1, "POST", f"/join/{room_id}", json={})
            first = await bob.ok(sync1, "GET", "/sync")
            held = asyncio.create_task(
                sync_until(bob, sync1, first["next_batch"], room_id, has_body("across workers"))
            )
            await asyncio.sleep(0.5)
            sent = await alice.ok(
                main,
                "PUT",
                f"/rooms/{room_id}/send/m.room.message/t1",
                json={"msgtype": "m.text", "body": "across workers"},
            )
            seen, _ = await held
            assert [e["event_id"] for e in seen if e["type"] == "m.room.message"] == [
                sent["event_id"]
            ]
            # And the other way round: sent through the sync worker, read through main.
            before = await alice.ok(main, "GET", "/sync")
            held = asyncio.create_task(
                sync_until(alice, main, before["next_batch"], room_id, has_body("back"))
            )
            await asyncio.sleep(0.5)
            reply = await bob.ok(
                sync1,
                "PUT",
                f"/rooms/{room_id}/send/m.room.message/t2",
                json={"msgtype": "m.text", "body": "back"},
            )
            seen, _ = await held
            assert [e["event_id"] for e in seen] == [reply["event_id"]]

    try:
        asyncio.run(scenario())
    except AssertionError:
        print(cluster.logs())
        raise


async def _setup_rooms(
    cluster: Cluster, http: httpx.AsyncClient, rooms: int, tag: str
) -> tuple[Client, Client, list[str]]:
    """Alice creates the rooms (through main), Bob joins them all; every writer gets some.

    ``tag`` names this test's Alice and Bob: the deployment outlives the test.
    """
    main = cluster.url("main")
    alice = await register(http, main, f"alice-{tag}")
    bob = await register(http, main, f"bob-{tag}")
    room_ids: list[str] = []
    owners: set[str] = set()
    while len(room_ids) < rooms or owners != set(WRITERS):
        room = await alice.ok(main, "POST", "/createRoom", json={"preset": "public_chat"})
        room_ids.append(room["room_id"])
        owners.add(room_writer(room["room_id"], WRITERS))
        await bob.ok(main, "POST", f"/join/{room['room_id']}", json={})
    return alice, bob, room_ids


async def _read_everything(
    readers: list[Reader], sending: "asyncio.Task[dict[str, tuple[str, str]]]"
) -> dict[str, tuple[str, str]]:
    def done(reader: Reader) -> bool:
        return sending.done() and reader.count() >= len(sending.result())

    await asyncio.wait_for(
        asyncio.gather(sending, *(reader.run_until(done) for reader in readers)), 600
    )
    acked = sending.result()
    for reader in readers:
        assert_exactly_once(reader, acked)
    return acked


def test_kill_9_of_an_event_writer_loses_nothing_acknowledged(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            alice, bob, rooms = await _setup_rooms(cluster, http, 2, "kill")
            start = await bob.ok(cluster.url("sync1"), "GET", "/sync")
            reader = Reader(bob, cluster.url("sync1"), start["next_batch"])
            killed = asyncio.Event()

            def on_ack(count: int) -> None:
                if count == 150 and not killed.is_set():
                    killed.set()
                    cluster.workers["writer1"].kill()

            senders = [(alice, cluster.url("sync1")), (alice, cluster.url("main"))]
            sending = asyncio.create_task(send_many(senders, rooms, 300, 8, on_ack))
            await killed.wait()
            await asyncio.sleep(1)
            await asyncio.to_thread(cluster.workers["writer1"].start)
            await _read_everything([reader], sending)

    _run(cluster, scenario())


def test_a_sync_worker_killed_for_good_stops_holding_the_others_back(cluster: Cluster) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            alice, bob, rooms = await _setup_rooms(cluster, http, 2, "gone")
            start = await bob.ok(cluster.url("sync1"), "GET", "/sync")
            reader = Reader(bob, cluster.url("sync1"), start["next_batch"])

            def on_ack(count: int) -> None:
                if count == 100:
                    # Never restarted: the others must stop waiting for its claim.
                    cluster.workers["sync3"].kill()

            senders = [(alice, cluster.url("sync3")), (alice, cluster.url("main"))]
            before = await send_many(senders, rooms, 100, 4, on_ack, prefix="before")
            # Sent after the kill, through the workers still running.
            after = send_many(senders[1:], rooms, 200, 4, prefix="after")
            sending = asyncio.create_task(_merged(before, after))
            await _read_everything([reader], sending)

    _run(cluster, scenario())


async def _merged(
    first: dict[str, tuple[str, str]], second: Awaitable[dict[str, tuple[str, str]]]
) -> dict[str, tuple[str, str]]:
    return {**first, **(await second)}


def test_a_redis_restart_mid_run_loses_and_repeats_nothing(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            alice, bob, rooms = await _setup_rooms(cluster, http, 3, "redis")
            start = await bob.ok(cluster.url("sync1"), "GET", "/sync")
            reader = Reader(bob, cluster.url("sync1"), start["next_batch"])
            restarted = asyncio.Event()

            async def restart_redis() -> None:
                while reader.count() < 100:
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(redis_server.stop)
                await asyncio.sleep(2)
                await asyncio.to_thread(redis_server.start)
                restarted.set()

            senders = [(alice, cluster.url("sync1")), (alice, cluster.url("main"))]
            sending = asyncio.create_task(send_many(senders, rooms, 600, 6))
            restart = asyncio.create_task(restart_redis())
            await _read_everything([reader], sending)
            await restart
            assert restarted.is_set()

    _run(cluster, scenario())


def test_postgresql_connections_lost_mid_run_give_retryable_errors_only(
    cluster: Cluster,
) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            alice, bob, rooms = await _setup_rooms(cluster, http, 3, "pg")
            start = await bob.ok(cluster.url("sync1"), "GET", "/sync")
            reader = Reader(bob, cluster.url("sync1"), start["next_batch"])
            cut = asyncio.Event()

            async def cut_connections() -> None:
                while reader.count() < 100:
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(terminate_connections, cluster.database)
                cut.set()

            senders = [(alice, cluster.url("sync1")), (alice, cluster.url("main"))]
            sending = asyncio.create_task(send_many(senders, rooms, 400, 6))
            cutting = asyncio.create_task(cut_connections())
            await _read_everything([reader], sending)
            await cutting
            assert cut.is_set()

    _run(cluster, scenario())


# Last: ``sync3``, killed for good above, no longer spends the CPU it takes to
# follow ten thousand events.
def test_ten_thousand_events_over_several_writers_reach_every_sync_worker_once(
    cluster: Cluster,
) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=120) as http:
            alice, bob, rooms = await _setup_rooms(cluster, http, 6, "bulk")
            readers = []
            for name in ("sync1", "sync2", "main"):
                start = await bob.ok(cluster.url(name), "GET", "/sync")
                readers.append(Reader(bob, cluster.url(name), start["next_batch"]))
            # A client whose every request reaches the other sync worker.
            moving = [cluster.url("sync1"), cluster.url("sync2")]
            readers.append(Reader(bob, moving, readers[0].since))
            senders = [(alice, cluster.url(name)) for name in KEPT]
            sending = asyncio.create_task(send_many(senders, rooms, 10_000, concurrency=24))
            acked = await _read_everything(readers, sending)
            assert len(acked) == 10_000
            # The order each room's events were delivered in is the room's order.
            for room_id in rooms:
                ordered = await _room_order(bob, cluster.url("main"), room_id)
                for reader in readers:
                    assert reader.seen.get(room_id, []) == ordered

    _run(cluster, scenario())


async def _room_order(client: Client, base: str, room_id: str) -> list[str]:
    """The room's messages as /messages pages them, oldest first."""
    ordered: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"dir": "f", "limit": 1000}
        if token:
            params["from"] = token
        page = await client.ok(base, "GET", f"/rooms/{room_id}/messages", params=params)
        ordered += [e["event_id"] for e in page["chunk"] if e["type"] == "m.room.message"]
        token = page.get("end")
        if not page["chunk"] or not token:
            return ordered


def _run(cluster: Cluster, scenario: Any) -> None:
    try:
        asyncio.run(scenario)
    except BaseException:
        print(cluster.logs())
        raise
