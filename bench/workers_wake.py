"""``python -m bench.workers_wake``: how soon a send through one worker wakes a sync on another.

Starts a private ``redis-server``, a fresh PostgreSQL database and three
workers (``main``, ``writer1``, ``sync1``; the deployment helpers of
``tests/e2e/workers_support.py``). Bob holds a long-poll on ``sync1`` while
Alice sends through ``main`` (forwarded to the room's writer); it prints how
long after Alice's 200 Bob's sync returned with the event, over N rounds.

    .venv/bin/python -m bench.workers_wake --rounds 100
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from tests.e2e.workers_support import Cluster, RedisServer, register

NO_PRESENCE = '{"presence": {"not_types": ["*"]}}'


async def measure(cluster: Cluster, rounds: int) -> list[float]:
    main, sync1 = cluster.url("main"), cluster.url("sync1")
    async with httpx.AsyncClient(timeout=60) as http:
        alice = await register(http, main, "alice")
        bob = await register(http, main, "bob")
        room = await alice.ok(main, "POST", "/createRoom", json={"preset": "public_chat"})
        room_id = room["room_id"]
        await bob.ok(main, "POST", f"/join/{room_id}", json={})
        first = await bob.ok(sync1, "GET", "/sync", params={"filter": NO_PRESENCE})
        since = first["next_batch"]
        delays = []
        for index in range(rounds):
            params = {"since": since, "timeout": 30000, "filter": NO_PRESENCE}
            held = asyncio.create_task(bob.ok(sync1, "GET", "/sync", params=params))
            await asyncio.sleep(0.05)
            body = {"msgtype": "m.text", "body": f"wake {index}"}
            path = f"/rooms/{room_id}/send/m.room.message/w{index}"
            sent = await alice.ok(main, "PUT", path, json=body)
            acked = time.perf_counter()
            woken = await held
            delays.append((time.perf_counter() - acked) * 1000)
            events = woken["rooms"]["join"][room_id]["timeline"]["events"]
            assert sent["event_id"] in [event["event_id"] for event in events]
            since = woken["next_batch"]
    return sorted(delays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    folder = Path(tempfile.mkdtemp(prefix="sceau-workers-wake-"))
    redis = RedisServer(binary, folder)
    redis.start()
    cluster = Cluster(
        folder, redis.url, {"main": ["main"], "writer1": ["event_writer"], "sync1": ["sync"]}
    )
    try:
        cluster.start()
        delays = asyncio.run(measure(cluster, args.rounds))
    finally:
        cluster.stop()
        redis.stop()
        shutil.rmtree(folder, ignore_errors=True)
    count = len(delays)
    print(
        f"sync on sync1 returned after the send's 200 through main ({count} rounds): "
        f"p50 {delays[count // 2]:.1f} ms, p90 {delays[count * 9 // 10]:.1f} ms, "
        f"max {delays[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
