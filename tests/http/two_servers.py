"""Two homeservers in one process, their federation traffic routed to each other's app.

The outbound HTTPS client of each is replaced by a transport that dispatches
on the Host header (the server name the client resolved), so signatures,
key fetches, the queue and every federation endpoint run for real, without
sockets. tests/e2e/test_federation_tls.py runs the same over TLS between
two processes.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sceau.clock import RealClock
from sceau.homeserver import Services, build_app, build_services
from sceau.protocol.signing import generate_signing_key
from sceau.storage.database import SqliteDatabase
from sceau.storage.migrations import migrate
from tests.conftest import FAST_HASHER, MatrixUser, create_local_user, make_config

A = "a.test:8448"
B = "b.test:8448"


class Router(httpx.AsyncBaseTransport):
    """Delivers each request to the app of the server named in its Host header."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.headers["host"]
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"{host} is unreachable")
        return await self.apps[host].handle_async_request(request)


@dataclass
class Server:
    name: str
    services: Services
    http: httpx.AsyncClient

    async def user(self, localpart: str) -> MatrixUser:
        return await create_local_user(self.services, self.http, localpart)

    async def flush_to(self, other: "Server") -> None:
        """Send everything queued for ``other`` now."""
        sender = self.services.federation.sender
        while await sender.attempt(other.name, force=True) == "sent":
            pass


async def make_server(
    tmp_path: Path, name: str, router: Router, allow: list[str], seed: int, **extra: Any
) -> Server:
    folder = tmp_path / name.replace(":", "_")
    folder.mkdir()
    db = SqliteDatabase(str(folder / "sceau.db"))
    await migrate(db)
    config = make_config(
        folder, server_name=name, federation={"enabled": True, "allow": allow}, **extra
    )
    services = await build_services(
        config,
        clock=RealClock(),
        db=db,
        signing_key=generate_signing_key(bytes([seed]) * 32, f"k{seed}"),
        password_hasher=FAST_HASHER,
        federation_http=httpx.AsyncClient(transport=router),
    )
    app = build_app(services)
    router.apps[name] = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url=f"http://{name}",
    )
    return Server(name, services, http)


async def server_pair(tmp_path: Path) -> AsyncIterator[tuple[Server, Server, Router]]:
    """A and B allowing each other (use from a fixture: ``async for pair in server_pair(...)``)."""
    router = Router()
    a = await make_server(tmp_path, A, router, [B], 3)
    b = await make_server(tmp_path, B, router, [A], 4)
    yield a, b, router
    for server in (a, b):
        await server.http.aclose()
        await server.services.federation.stop()
        await server.services.stores.db.close()
