"""A multi-process Sceau deployment for tests: PostgreSQL, a private Redis, workers."""

import asyncio
import secrets
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.conftest import free_port
from tests.e2e.server import (
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    server_config,
)


class RedisServer:
    """``redis-server --save ''`` on a free port, which a test may stop and start again."""

    def __init__(self, binary: str, data_dir: Path) -> None:
        self._binary = binary
        self._dir = data_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self._dir / "redis.log").open("ab")
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self._dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def pid(self) -> int:
        """The server's process id (benchmarks read its CPU)."""
        assert self._process is not None
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


#: Workers started at once: starting is mostly CPU (imports), and CI has two cores.
STARTING = 2


class Cluster:
    """The config every worker shares, and one :class:`ServerProcess` per worker."""

    def __init__(
        self,
        data_dir: Path,
        redis_url: str,
        roles: dict[str, list[str]],
        workers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        self.database, dsn = create_pg_database()
        instances = {
            name: {"roles": wanted, "port": free_port(), "replication_port": free_port()}
            for name, wanted in roles.items()
        }
        main_port = next(i["port"] for i in instances.values() if "main" in i["roles"])
        config = server_config("postgresql", main_port, dsn, **overrides)
        config["workers"] = {
            "redis_url": redis_url,
            "replication_secret": secrets.token_hex(16),
            "instances": instances,
            **(workers or {}),
        }
        self.config = config
        self.workers = {name: ServerProcess(data_dir, config, worker=name) for name in roles}

    def url(self, name: str) -> str:
        return self.workers[name].url

    def start(self) -> None:
        """The main instance first (it applies the migrations), then the others together."""
        main = [n for n in self.workers if "main" in self.workers_roles(n)]
        for name in main:
            self.workers[name].start()
        self._each([n for n in self.workers if n not in main], ServerProcess.start, STARTING)

    def _each(
        self, names: list[str], action: Callable[[ServerProcess], None], at_once: int = 0
    ) -> None:
        """``action`` on the named workers, ``at_once`` at a time (0: all of them)."""
        if not names:
            return
        with ThreadPoolExecutor(max_workers=at_once or len(names)) as pool:
            for done in [pool.submit(action, self.workers[name]) for name in names]:
                done.result()

    def running(self, name: str) -> bool:
        process = self.workers[name].process
        return process is not None and process.poll() is None

    def restart_stopped(self, names: list[str]) -> None:
        """Start again those of ``names`` that a test killed and did not restart."""
        self._each([n for n in names if not self.running(n)], ServerProcess.start, STARTING)

    def workers_roles(self, name: str) -> list[str]:
        return list(self.config["workers"]["instances"][name]["roles"])

    def stop(self) -> None:
        try:
            self._each(list(self.workers), ServerProcess.stop)
        finally:
            drop_pg_database(self.database)

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{w.log_text()[-4000:]}" for n, w in self.workers.items())


class Client:
    """A user talking plain HTTP to whichever worker a request names."""

    def __init__(self, http: httpx.AsyncClient, user_id: str, token: str) -> None:
        self.http = http
        self.user_id = user_id
        self.token = token

    async def request(self, base: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return await self.http.request(
            method, base + "/_matrix/client/v3" + path, headers=headers, **kwargs
        )

    async def ok(self, base: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(base, method, path, **kwargs)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        return response.json()


async def register(http: httpx.AsyncClient, base: str, localpart: str) -> Client:
    body = {"username": localpart, "password": "workers pw 1", "auth": {"type": "m.login.dummy"}}
    response = await http.post(base + "/_matrix/client/v3/register", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    return Client(http, data["user_id"], data["access_token"])


def timeline_ids(sync: dict[str, Any], room_id: str) -> list[str]:
    room = sync.get("rooms", {}).get("join", {}).get(room_id, {})
    return [event["event_id"] for event in room.get("timeline", {}).get("events", [])]


async def sync_until(
    client: Client,
    base: str,
    since: str,
    room_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout_ms: int = 30000,
) -> tuple[list[dict[str, Any]], str]:
    """Long-poll from ``since`` until the room's timeline events gathered satisfy ``done``.

    Returns those events and the last token. Other news (presence, receipts)
    may end a long-poll first; a long-poll that ends with nothing new means
    nothing woke it, so what was awaited was not delivered.
    """
    seen: list[dict[str, Any]] = []
    for _ in range(50):
        sync = await client.ok(base, "GET", "/sync", params={"since": since, "timeout": timeout_ms})
        since = sync["next_batch"]
        room = sync.get("rooms", {}).get("join", {}).get(room_id, {})
        seen += room.get("timeline", {}).get("events", [])
        if done(seen):
            return seen, since
        assert sync.get("rooms") or sync.get("presence") or sync.get("account_data"), (
            f"a long-poll on {base} ended with nothing new: the awaited event never came"
        )
    raise AssertionError(f"the awaited event never reached the sync on {base}")


def has_event(event_id: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(event["event_id"] == event_id for event in events)


def has_body(body: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(event.get("content", {}).get("body") == body for event in events)


#: What a client retries: the request did not happen (or happened once, by its txn ID).
RETRY_STATUSES = {502, 503, 504}


async def retrying(call: Callable[[], Any], attempts: int = 600) -> httpx.Response:
    """Repeat a request while the deployment answers 'retry' or drops the connection."""
    for _ in range(attempts):
        try:
            response: httpx.Response = await call()
        except httpx.TransportError:
            await asyncio.sleep(0.1)
            continue
        if response.status_code not in RETRY_STATUSES:
            return response
        assert response.json().get("errcode") == "M_UNKNOWN", response.text
        await asyncio.sleep(0.1)
    raise AssertionError("the deployment never recovered")


async def send_many(
    senders: list[tuple[Client, str]],
    rooms: list[str],
    count: int,
    concurrency: int,
    on_ack: Callable[[int], None] | None = None,
    prefix: str = "m",
) -> dict[str, tuple[str, str]]:
    """Send ``count`` messages round-robin over senders (client, worker URL) and rooms.

    Retries each on 503 or a dropped connection with the same transaction ID,
    as clients do. Returns body -> (room ID, event ID) of every acknowledged send.
    """
    acked: dict[str, tuple[str, str]] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            client, base = senders[index % len(senders)]
            room_id = rooms[index % len(rooms)]
            body = f"{prefix}{index}"
            path = f"/rooms/{room_id}/send/m.room.message/txn{prefix}{index}"

            async def put(c: Client = client, b: str = base, p: str = path, m: str = body) -> Any:
                return await c.request(b, "PUT", p, json={"msgtype": "m.text", "body": m})

            response = await retrying(put)
            assert response.status_code == 200, response.text
            acked[body] = (room_id, response.json()["event_id"])
            if on_ack is not None:
                on_ack(len(acked))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acked


class Reader:
    """One client's /sync loop on one worker, recording every message event it is given."""

    FILTER = '{"room": {"timeline": {"limit": 5000}}, "presence": {"not_types": ["*"]}}'

    def __init__(
        self, client: Client, base: str | list[str], since: str, poll_ms: int = 1000
    ) -> None:
        self.client = client
        #: A long-poll's timeout. Short: once the last event is in, the loop ends
        #: only when the poll under way does.
        self.poll_ms = poll_ms
        #: One worker, or several taken in turn (a client whose requests move).
        self.bases = [base] if isinstance(base, str) else base
        self.base = " and ".join(self.bases)
        self.since = since
        #: room -> event IDs in the order syncs delivered them.
        self.seen: dict[str, list[str]] = {}
        self.limited = 0

    async def run_until(self, done: Callable[["Reader"], bool]) -> None:
        turn = 0
        while not done(self):
            params = {"since": self.since, "timeout": self.poll_ms, "filter": self.FILTER}
            base = self.bases[turn % len(self.bases)]
            turn += 1

            async def get(p: dict[str, Any] = params, b: str = base) -> Any:
                return await self.client.request(b, "GET", "/sync", params=p)

            response = await retrying(get)
            assert response.status_code == 200, response.text
            sync = response.json()
            for room_id, room in sync.get("rooms", {}).get("join", {}).items():
                timeline = room.get("timeline", {})
                self.limited += bool(timeline.get("limited"))
                self.seen.setdefault(room_id, []).extend(
                    e["event_id"]
                    for e in timeline.get("events", [])
                    if e["type"] == "m.room.message"
                )
            self.since = sync["next_batch"]

    def count(self) -> int:
        return sum(len(ids) for ids in self.seen.values())


def assert_exactly_once(reader: Reader, acked: dict[str, tuple[str, str]]) -> None:
    """Every acknowledged event reached the reader once; nothing else did."""
    expected: dict[str, set[str]] = {}
    for room_id, event_id in acked.values():
        expected.setdefault(room_id, set()).add(event_id)
    for room_id, ids in expected.items():
        got = reader.seen.get(room_id, [])
        assert len(got) == len(set(got)), f"{reader.base}: duplicates in {room_id}"
        assert set(got) == ids, (
            f"{reader.base}: {len(ids - set(got))} missing, {len(set(got) - ids)} unexpected"
        )
