"""The real ``sceau serve`` process, and the databases it runs on, for end-to-end tests."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml

from tests.conftest import PG_DSN

REPO = Path(__file__).resolve().parents[2]

#: How long a server may take to answer /versions after it was started.
START_TIMEOUT_S = 30.0


class ServerError(RuntimeError):
    """The server process did not start, or died."""


class ServerProcess:
    """One ``python -m sceau serve`` process and its data folder.

    ``start`` may be called again after ``kill``/``stop``: the data folder,
    port and database stay the same, which is what the crash test needs.
    """

    def __init__(self, data_dir: Path, config: dict[str, Any], worker: str | None = None) -> None:
        self.data_dir = data_dir
        self.config_path = data_dir / "sceau.yaml"
        #: ``serve --worker NAME``: one instance of the config's ``workers``.
        self.worker = worker
        self.log_path = data_dir / (f"{worker}.log" if worker else "stderr.log")
        if worker:
            self.port = int(config["workers"]["instances"][worker]["port"])
        else:
            self.port = int(config["listeners"][0]["port"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.server_name = str(config["server_name"])
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the process and wait until /_matrix/client/versions answers."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start #{self.starts} =====\n".encode())
        log.flush()
        command = [sys.executable, "-m", "sceau", "serve", "--config", str(self.config_path)]
        if self.worker:
            command += ["--worker", self.worker]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"sceau exited with code {self.process.returncode} during start-up:\n"
                    + self.log_text()
                )
            try:
                response = httpx.get(self.url + "/_matrix/client/versions", timeout=2)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"sceau did not answer /versions within {START_TIMEOUT_S}s:\n" + self.log_text()
        )

    def kill(self) -> None:
        """``kill -9``: no chance to flush or close anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if the process has not exited after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"


def _admin_dsn() -> str:
    """The test DSN pointed at the ``postgres`` maintenance database."""
    parts = urlsplit(PG_DSN)
    return urlunsplit(parts._replace(path="/postgres"))


def _dsn_for(database: str) -> str:
    parts = urlsplit(PG_DSN)
    return urlunsplit(parts._replace(path="/" + database))


def _pg_execute(statement: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_admin_dsn())
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    # In a thread of its own: the caller may be a coroutine with a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def create_pg_database() -> tuple[str, str]:
    """A fresh, empty PostgreSQL database: ``(name, dsn)``."""
    name = "sceau_e2e_" + secrets.token_hex(6)
    _pg_execute(f'CREATE DATABASE "{name}"')
    return name, _dsn_for(name)


def terminate_connections(database: str) -> None:
    """Cut every connection to ``database``, as a PostgreSQL restart would."""
    _pg_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )


def drop_pg_database(name: str) -> None:
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_config(backend: str, port: int, dsn: str | None, **overrides: Any) -> dict[str, Any]:
    """The config of an e2e server: open registration, no rate limits, no forced E2EE."""
    database: dict[str, Any] = {"backend": backend}
    if backend == "postgresql":
        database["dsn"] = dsn
    else:
        database["path"] = "sceau.db"
    config: dict[str, Any] = {
        "server_name": "e2e.test",
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [{"bind_address": "127.0.0.1", "port": port}],
        "database": database,
        "signing_key_path": "signing.key",
        "registration": {"mode": "open"},
        "rate_limits": {"enabled": False},
        "presence": {"enabled": True},
        "encryption": {"encrypt_new_rooms": "off"},
    }
    config.update(overrides)
    return config


#: ``make(**config_overrides) -> ServerProcess``, already started.
ServerFactory = Callable[..., ServerProcess]


def database_bytes(server: "ServerProcess") -> bytes:
    """Everything the server stored: the SQLite files, or a pg_dump of its database."""
    config = yaml.safe_load(server.config_path.read_text(encoding="utf-8"))
    database = config["database"]
    if database["backend"] == "postgresql":
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--dbname", database["dsn"]],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return dump.stdout
    files = sorted(server.data_dir.glob(database["path"] + "*"))
    assert files, "no SQLite files found"
    return b"".join(path.read_bytes() for path in files)
