"""Small helpers for driving the real server with matrix-nio.

nio returns error objects instead of raising; :func:`ok` turns them into test
failures that say which request failed and what the server answered, or into
a skip when the server does not serve that endpoint yet (M_UNRECOGNIZED).
"""

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import nio
import pytest

from tests.e2e.server import ServerProcess

R = TypeVar("R")

PASSWORD = "correct horse battery staple"


def ok(response: Any, expected: type[R], what: str) -> R:
    """``response`` if it is an ``expected``; skip if unimplemented; fail otherwise."""
    if isinstance(response, expected):
        return response
    errcode = getattr(response, "status_code", None)
    message = getattr(response, "message", response)
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    if errcode == "M_UNRECOGNIZED" and status in (404, 405):
        pytest.fail(f"the server does not implement {what} yet ({status} M_UNRECOGNIZED)")
    pytest.fail(f"{what} failed: HTTP {status} {errcode}: {message}")


def new_client(
    server: ServerProcess, user: str = "", limit_retries: int | None = 0
) -> nio.AsyncClient:
    """A nio client without E2EE and, by default, without retries (they would hide failures).

    ``limit_retries=None`` lets nio wait and retry on M_LIMIT_EXCEEDED as often as it is told.
    """
    config = nio.AsyncClientConfig(
        encryption_enabled=False,
        max_limit_exceeded=limit_retries,
        max_timeouts=0,
        request_timeout=45,
    )
    return nio.AsyncClient(server.url, user, config=config)


def unique(localpart: str) -> str:
    return f"{localpart}_{secrets.token_hex(4)}"


async def register(server: ServerProcess, localpart: str) -> nio.AsyncClient:
    """A new account through nio's ``register`` (m.login.dummy), logged in."""
    client = new_client(server)
    try:
        response = await client.register(unique(localpart), PASSWORD, "e2e")
        ok(response, nio.RegisterResponse, "POST /register")
    except BaseException:
        await client.close()
        raise
    assert client.access_token and client.user_id.startswith("@")
    return client


async def initial_sync(client: nio.AsyncClient) -> nio.SyncResponse:
    return ok(await client.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")


async def sync_until(
    client: nio.AsyncClient,
    found: Callable[[nio.SyncResponse], bool],
    what: str,
    within_s: float = 15.0,
    **kwargs: Any,
) -> nio.SyncResponse:
    """Incremental syncs (since the client's last token) until ``found`` holds."""
    deadline = time.monotonic() + within_s
    seen = []
    while time.monotonic() < deadline:
        response = ok(await client.sync(timeout=1000, **kwargs), nio.SyncResponse, "/sync")
        seen.append(response)
        if found(response):
            return response
    pytest.fail(f"{what}: not seen in /sync within {within_s}s ({len(seen)} syncs)")


def timeline(response: nio.SyncResponse, room_id: str) -> list[dict[str, Any]]:
    """Raw timeline events of a joined room in a sync response."""
    room = response.rooms.join.get(room_id)
    return [event.source for event in room.timeline.events] if room else []


def ephemeral(response: nio.SyncResponse, room_id: str) -> list[Any]:
    room = response.rooms.join.get(room_id)
    return list(room.ephemeral) if room else []


async def send_text(client: nio.AsyncClient, room_id: str, body: str) -> str:
    response = ok(
        await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body}),
        nio.RoomSendResponse,
        "PUT /rooms/{roomId}/send",
    )
    return str(response.event_id)


async def shared_room(alice: nio.AsyncClient, *others: nio.AsyncClient, name: str = "e2e") -> str:
    """A room created by ``alice``; every other client is invited and joins."""
    created = ok(
        await alice.room_create(name=name, invite=[o.user_id for o in others]),
        nio.RoomCreateResponse,
        "POST /createRoom",
    )
    for other in others:
        ok(await other.join(created.room_id), nio.JoinResponse, "POST /join/{roomIdOrAlias}")
    return str(created.room_id)


async def close_all(*clients: nio.AsyncClient) -> None:
    await asyncio.gather(*(client.close() for client in clients))
