"""End-to-end fixtures: the real ``sceau serve`` process, on SQLite and on PostgreSQL.

Each server runs in its own temporary data folder, on a free port, with its
stderr captured to a file that is attached to the report of any failing test.
PostgreSQL servers get a fresh database (``sceau_e2e_<random>``) that is
dropped afterwards; outside CI they skip when no PostgreSQL answers.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, require_postgres
from tests.e2e.server import (
    ServerError,
    ServerFactory,
    ServerProcess,
    create_pg_database,
    drop_pg_database,
    server_config,
)
from tests.e2e.synapse_server import SynapsePair, sceau_and_synapse

SERVERS_KEY = pytest.StashKey[list[ServerProcess]]()


def _server_factory(
    request: pytest.FixtureRequest, backend: str, tmp_dir: Path
) -> Iterator[ServerFactory]:
    """Yields ``make(**config_overrides) -> started ServerProcess``; cleans up after."""
    servers: list[ServerProcess] = []
    databases: list[str] = []
    registry = request.config.stash.setdefault(SERVERS_KEY, [])

    def make(**overrides: Any) -> ServerProcess:
        dsn = None
        if backend == "postgresql":
            name, dsn = create_pg_database()
            databases.append(name)
        data_dir = tmp_dir / f"server{len(servers)}"
        data_dir.mkdir(parents=True)
        for _attempt in range(3):
            config = server_config(backend, free_port(), dsn, **overrides)
            server = ServerProcess(data_dir, config)
            servers.append(server)
            registry.append(server)
            try:
                server.start()
            except ServerError:
                # Another process may have taken the port between free_port() and bind.
                if "address already in use" not in server.log_text().lower():
                    raise
                server.log_path.unlink()
                continue
            return server
        raise ServerError("could not find a free port for sceau")

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
            if server in registry:
                registry.remove(server)
        for name in databases:
            drop_pg_database(name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def e2e_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        require_postgres()
    return str(request.param)


@pytest.fixture
def make_server(
    request: pytest.FixtureRequest, e2e_backend: str, tmp_path: Path
) -> Iterator[ServerFactory]:
    """A factory of servers that live for one test (the crash test restarts them)."""
    yield from _server_factory(request, e2e_backend, tmp_path)


@pytest.fixture(scope="module")
def make_module_server(
    request: pytest.FixtureRequest, e2e_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    """A factory of servers that live as long as the module (a special config, shared)."""
    yield from _server_factory(request, e2e_backend, tmp_path_factory.mktemp("sceau"))


@pytest.fixture(scope="module")
def server(make_module_server: ServerFactory) -> ServerProcess:
    """One running server shared by the tests of a module."""
    return make_module_server()


@pytest.fixture(scope="session")
def synapse_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapsePair]:
    """Sceau and a real Synapse (plus two Sceau servers each off one side's allowlist).

    Shared by every Synapse test module: starting Synapse takes about 20 s.
    """
    with sceau_and_synapse(tmp_path_factory.mktemp("synapse")) as pair:
        yield pair


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the stderr of every running server to a failing test's report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for server in item.config.stash.get(SERVERS_KEY, []):
        report.sections.append((f"sceau stderr ({server.url})", server.log_text()[-20_000:]))
