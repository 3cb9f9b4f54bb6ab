"""Fixtures shared by every layer's tests.

Storage, service and HTTP tests run twice: on SQLite and on PostgreSQL. Each
PostgreSQL run gets its own schema in the database ``SCEAU_TEST_PG_DSN`` names
(default ``postgresql://postgres@127.0.0.1:5432/test``), created when missing.
Outside CI, the PostgreSQL runs skip with a message when no server answers;
with CI=true they must run (docs/testing.md).
"""

import asyncio
import concurrent.futures
import functools
import os
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher

from sceau.clock import RealClock
from sceau.config import Config, parse_config
from sceau.homeserver import Services, build_app, build_services
from sceau.protocol.signing import generate_signing_key
from sceau.storage.database import Database, PostgresDatabase, SqliteDatabase
from sceau.storage.migrations import migrate
from tests import system_packages
from tests.smtp_support import Inbox

PG_DSN = os.environ.get("SCEAU_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: The Matrix spec's OpenAPI definitions, kept in the repository (see tests/spec/README.md).
SPEC_DIR = Path(__file__).resolve().parent / "spec"

#: Cheap argon2id parameters: tests hash hundreds of passwords.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

#: The longest files (minutes each), started first so that the two processes
#: finish together; the rest keep their order. The outage module (about 2.5
#: min) mostly waits, leaving the cores to the other process meanwhile.
LONGEST_FIRST = (
    "test_federation_outage.py",
    "test_workers.py",
    "test_federation_synapse.py",
    "test_federation_synapse_rooms.py",
    "test_calls.py",
    "test_federation_rooms.py",
    "test_workers_federation.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (pytest-xdist then hands out whole files in this order)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_address() -> tuple[str, int]:
    parts = urlsplit(PG_DSN)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def postgres_available() -> bool:
    try:
        with socket.create_connection(_pg_address(), timeout=1):
            return True
    except OSError:
        return False


async def _create_database_if_missing(dsn: str) -> bool:
    """Create the database ``dsn`` names when it does not exist; True if it was created."""
    import asyncpg

    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    # Any existing database will do to issue CREATE DATABASE; postgres always exists.
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.DuplicateDatabaseError:
        return False  # another run created it meanwhile
    finally:
        await admin.close()
    return True


@functools.cache
def _postgres_ready() -> None:
    """Once per run: the test database exists (created when missing)."""
    _run_in_thread(_create_database_if_missing(PG_DSN))


def require_postgres() -> None:
    """Skip (fail with CI=true) when no PostgreSQL answers; create the test database."""
    host, port = _pg_address()
    if not postgres_available():
        where = f"{host}:{port} (SCEAU_TEST_PG_DSN={PG_DSN}; see docs/testing.md)"
        if IN_CI:
            pytest.fail(f"CI=true but no PostgreSQL answers on {where}")
        pytest.skip(f"PostgreSQL is not running on {where}; set CI=true to make this an error")
    _postgres_ready()


def require_system_package(package: str, binary: str) -> str:
    """``binary``'s path; skips with the apt-get command (fails with CI=true) when absent."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    absent = system_packages.missing() or [package]
    message = (
        f"{binary} is missing (Debian package {package}); ./scripts/test installs it as root,"
        f" or run: {system_packages.install_command(absent)}"
    )
    if IN_CI:
        pytest.fail(f"CI=true but {message}")
    pytest.skip(f"{message} (CI=true makes this fail)")


def spec_file(name: str) -> Path:
    """The path of one of the spec's OpenAPI files, e.g. ``client-server.json``."""
    return SPEC_DIR / name


#: The push gateways API tests register pushers with (any other is refused).
TEST_PUSH_GATEWAYS = [
    "https://push.example/_matrix/push/v1/notify",
    "https://p.example/_matrix/push/v1/notify",
    "https://push.test/_matrix/push/v1/notify",
]


def make_config(tmp_path: Path, **overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "server_name": "test.local",
        "registration": {"mode": "open"},
        "rate_limits": {"enabled": False},
        "push": {"allowed_gateways": TEST_PUSH_GATEWAYS},
    }
    raw.update(overrides)
    return parse_config(raw, str(tmp_path))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return str(request.param)


def _run_in_thread(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per run; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        database = SqliteDatabase(str(path))
        await migrate(database)
        await database.close()

    _run_in_thread(build())
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL schema migrated once per run; tests empty it between them."""
    import asyncpg

    schema = "t_" + secrets.token_hex(6)

    async def build() -> None:
        conn = await asyncpg.connect(PG_DSN)
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.close()
        database = await PostgresDatabase.connect(PG_DSN, 1, schema=schema)
        await migrate(database)
        await database.close()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_DSN)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()

    _run_in_thread(build())
    yield schema
    _run_in_thread(drop())


async def _empty_postgres_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN, server_settings={"search_path": schema})
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename != 'schema_version'",
        schema,
    )
    if tables:
        # DELETE is far quicker than TRUNCATE on the handful of rows a test writes.
        statements = "".join(f'DELETE FROM "{schema}"."{row[0]}";' for row in tables)
        await conn.execute(f"BEGIN;{statements}COMMIT;")
    await conn.close()


@pytest.fixture
async def db(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A migrated, empty database on the parametrised backend."""
    database: Database
    if backend == "postgresql":
        schema = request.getfixturevalue("postgres_schema")
        await _empty_postgres_schema(schema)
        database = await PostgresDatabase.connect(PG_DSN, 5, schema=schema)
    else:
        template = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "test.db")
        database = SqliteDatabase(str(tmp_path / "test.db"))
    await migrate(database)
    yield database
    await database.close()


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module to change the homeserver's config."""
    return {}


@pytest.fixture
async def services(db: Database, tmp_path: Path, config_overrides: dict[str, Any]) -> Services:
    config = make_config(tmp_path, **config_overrides)
    return await build_services(
        config,
        clock=RealClock(),
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the homeserver in-process."""
    transport = httpx.ASGITransport(app=build_app(services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test.local") as http:
        yield http


class MatrixUser:
    """A registered user with an authenticated client, for API tests."""

    def __init__(self, http: httpx.AsyncClient, user_id: str, token: str, device_id: str) -> None:
        self.http = http
        self.user_id = user_id
        self.token = token
        self.device_id = device_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("/_matrix") else "/_matrix/client/v3" + path
        return await self.http.request(method, url, headers=self.headers, **kwargs)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a request that must succeed."""
        response = await self.request(method, path, **kwargs)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        return response.json()


async def register_user(
    http: httpx.AsyncClient, localpart: str, password: str = "correct horse battery"
) -> MatrixUser:
    body = {"username": localpart, "password": password, "auth": {"type": "m.login.dummy"}}
    response = await http.post("/_matrix/client/v3/register", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    return MatrixUser(http, data["user_id"], data["access_token"], data["device_id"])


@pytest.fixture
def register(client: httpx.AsyncClient) -> Callable[..., Any]:
    """``await register("alice")`` -> MatrixUser."""

    async def _register(localpart: str, password: str = "correct horse battery") -> MatrixUser:
        return await register_user(client, localpart, password)

    return _register


def run(coro: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coro)


async def create_local_user(
    services: Services, http: httpx.AsyncClient, localpart: str
) -> MatrixUser:
    """A user with a device and token, written straight to storage (no /register round-trip)."""
    user_id = f"@{localpart}:{services.config.server_name}"
    token, token_hash = services.auth.new_access_token()
    device_id = "DEV" + localpart.upper()
    now = services.clock.time_ms()
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.insert_user(txn, user_id, None, now)
        await services.stores.accounts.upsert_device(txn, user_id, device_id, None, now)
        await services.stores.accounts.insert_token(txn, token_hash, user_id, device_id, now)
    return MatrixUser(http, user_id, token, device_id)


@pytest.fixture
def user_factory(services: Services, client: httpx.AsyncClient) -> Callable[..., Any]:
    """``await user_factory("alice")`` -> MatrixUser, created directly in storage."""

    async def _make(localpart: str) -> MatrixUser:
        return await create_local_user(services, client, localpart)

    return _make


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]
