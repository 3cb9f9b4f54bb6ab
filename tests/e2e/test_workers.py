"""Several ``sceau serve --worker`` processes on one PostgreSQL, with Redis between them.

Real processes: a private ``redis-server``, a fresh PostgreSQL database, and
one Sceau process per worker. Every assertion is about what clients see
(which events, how many times), never about how fast.
"""

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_postgres, require_system_package
from tests.e2e.workers_support import Cluster, RedisServer, has_body, register, sync_until

pytestmark = pytest.mark.e2e

MakeCluster = Callable[[dict[str, list[str]]], Cluster]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    require_postgres()
    server = RedisServer(require_system_package("redis-server", "redis-server"), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_cluster(tmp_path: Path, redis_server: RedisServer) -> Iterator[MakeCluster]:
    clusters: list[Cluster] = []

    def make(roles: dict[str, list[str]]) -> Cluster:
        cluster = Cluster(tmp_path, redis_server.url, roles)
        clusters.append(cluster)
        cluster.start()
        return cluster

    try:
        yield make
    finally:
        for cluster in clusters:
            cluster.stop()


def test_a_message_sent_through_one_worker_wakes_a_sync_held_by_another(
    make_cluster: MakeCluster,
) -> None:
    cluster = make_cluster({"main": ["main"], "writer1": ["event_writer"], "sync1": ["sync"]})
    main, sync1 = cluster.url("main"), cluster.url("sync1")

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            alice = await register(http, main, "alice")
            bob = await register(http, sync1, "bob")
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
