"""A multi-process Sceau deployment for tests: PostgreSQL, a private Redis, workers."""

import secrets
import subprocess
import time
from collections.abc import Callable
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

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)


class Cluster:
    """The config every worker shares, and one :class:`ServerProcess` per worker."""

    def __init__(
        self, data_dir: Path, redis_url: str, roles: dict[str, list[str]], **overrides: Any
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
        }
        self.config = config
        self.workers = {name: ServerProcess(data_dir, config, worker=name) for name in roles}

    def url(self, name: str) -> str:
        return self.workers[name].url

    def start(self) -> None:
        """The main instance first (it applies the migrations), then the others."""
        order = sorted(self.workers, key=lambda n: "main" not in self.workers_roles(n))
        for name in order:
            self.workers[name].start()

    def workers_roles(self, name: str) -> list[str]:
        return list(self.config["workers"]["instances"][name]["roles"])

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
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
