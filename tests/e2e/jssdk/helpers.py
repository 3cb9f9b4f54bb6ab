"""What the js-sdk end-to-end tests share: the driver, accounts, raw reads, nio with E2EE."""

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import nio
import pytest

from tests.e2e.jssdk.jsclient import JsDriver, require_node
from tests.e2e.nio_helpers import PASSWORD, ok, register
from tests.e2e.server import ServerProcess


@asynccontextmanager
async def started_driver(tmp_path: Path) -> AsyncIterator[JsDriver]:
    """A running driver (skipped outside CI when node_modules is missing)."""
    require_node()
    driver = JsDriver(tmp_path / "jssdk.log")
    await driver.start()
    try:
        yield driver
    finally:
        await driver.close()


async def new_account(server: ServerProcess, localpart: str) -> str:
    """A registered user (through nio); the js-sdk then logs in with its password."""
    client = await register(server, localpart)
    await client.close()
    return str(client.user_id)


async def js_login(
    js: JsDriver, server: ServerProcess, name: str, user_id: str, **extra: str
) -> Any:
    args = {"name": name, "baseUrl": server.url, "userId": user_id, "password": PASSWORD}
    return await js.call("login", **args, **extra)


async def get_json(server: ServerProcess, token: str, path: str, **params: str) -> dict:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(
            "/_matrix/client/v3" + path,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
    return dict(response.json())


async def raw_messages(server: ServerProcess, token: str, room_id: str) -> list[dict]:
    """The room's messages exactly as the server stores and serves them."""
    page = await get_json(server, token, f"/rooms/{room_id}/messages", dir="b", limit="50")
    return [e for e in page["chunk"] if e["type"] in ("m.room.message", "m.room.encrypted")]


def e2ee_nio_client(server: ServerProcess, store: Path) -> nio.AsyncClient:
    store.mkdir(parents=True, exist_ok=True)
    config = nio.AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=True,
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=45,
    )
    return nio.AsyncClient(server.url, "", store_path=str(store), config=config)


async def registered_e2ee_client(server: ServerProcess, store: Path) -> nio.AsyncClient:
    """A new nio account with E2EE, synced once, its device keys uploaded."""
    client = e2ee_nio_client(server, store)
    try:
        ok(
            await client.register(f"bob_{secrets.token_hex(4)}", PASSWORD, "nio"),
            nio.RegisterResponse,
            "POST /register",
        )
        ok(await client.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")
        await nio_keys_round(client)
    except BaseException:
        await client.close()
        raise
    return client


async def nio_keys_round(client: nio.AsyncClient) -> None:
    """What nio's sync_forever does after each sync: keys and queued to-device messages."""
    if client.should_upload_keys:
        ok(await client.keys_upload(), nio.KeysUploadResponse, "POST /keys/upload")
    if client.should_query_keys:
        ok(await client.keys_query(), nio.KeysQueryResponse, "POST /keys/query")
    if client.should_claim_keys:
        users = client.get_users_for_key_claiming()
        ok(await client.keys_claim(users), nio.KeysClaimResponse, "POST /keys/claim")
    await client.send_to_device_messages()


async def nio_sync_until_text(client: nio.AsyncClient, room_id: str, body: str) -> nio.Event:
    """Syncs (with key rounds) until a decrypted message with ``body`` arrives."""
    undecryptable: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = ok(await client.sync(timeout=500), nio.SyncResponse, "/sync")
        await nio_keys_round(client)
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if getattr(event, "body", None) == body:
                return event
            if isinstance(event, nio.MegolmEvent):
                undecryptable.append(event.event_id)
    pytest.fail(f"nio never decrypted {body!r}; undecryptable events: {undecryptable}")
