"""Acknowledged writes survive ``kill -9`` of the server process.

A 200 from ``/send`` promises the event is committed. These tests kill the
real server with SIGKILL while sends are in flight, restart it on the same
data folder or database, and check that every promise was kept.
"""

import asyncio
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e

MESSAGES = 60
KILL_AFTER = 30


class Client:
    """A registered user talking plain HTTP to the server."""

    def __init__(self, http: httpx.AsyncClient, token: str, user_id: str) -> None:
        self.http = http
        self.token = token
        self.user_id = user_id

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return await self.http.request(
            method, "/_matrix/client/v3" + path, headers=headers, **kwargs
        )

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        if response.status_code == 404 and response.json().get("errcode") == "M_UNRECOGNIZED":
            pytest.fail(f"the server does not implement {method} {path.split('?')[0]} yet")
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        return response.json()


async def register(server: ServerProcess, http: httpx.AsyncClient, localpart: str) -> Client:
    body = {"username": localpart, "password": "crash test pw", "auth": {"type": "m.login.dummy"}}
    response = await http.post(server.url + "/_matrix/client/v3/register", json=body)
    if response.status_code == 404:
        pytest.fail("the server does not implement POST /register yet")
    assert response.status_code == 200, response.text
    data = response.json()
    return Client(http, data["access_token"], data["user_id"])


async def send_all(client: Client, room_id: str, server: ServerProcess) -> dict[str, str]:
    """Send MESSAGES messages, 6 at a time; kill -9 the server after KILL_AFTER acks.

    Returns ``txn_id -> event_id`` for every send answered with 200.
    """
    acked: dict[str, str] = {}
    killed = asyncio.Event()
    queue = [f"txn{i}" for i in range(MESSAGES)]

    async def worker() -> None:
        while queue and not killed.is_set():
            txn = queue.pop(0)
            try:
                response = await client.request(
                    "PUT",
                    f"/rooms/{room_id}/send/m.room.message/{txn}",
                    json={"msgtype": "m.text", "body": f"message {txn}"},
                )
            except httpx.HTTPError:
                continue  # the server died under this request: not acknowledged
            if response.status_code == 200:
                acked[txn] = response.json()["event_id"]
            if len(acked) >= KILL_AFTER and not killed.is_set():
                killed.set()
                server.kill()

    await asyncio.gather(*(worker() for _ in range(6)))
    if not killed.is_set():
        server.kill()
    return acked


async def all_messages(client: Client, room_id: str) -> list[dict[str, Any]]:
    """Every m.room.message in the room, oldest first, paginating /messages backwards."""
    events: list[dict[str, Any]] = []
    token = None
    for _page in range(100):
        query = f"?dir=b&limit=25{'&from=' + token if token else ''}"
        page = await client.ok("GET", f"/rooms/{room_id}/messages{query}")
        events.extend(e for e in page["chunk"] if e["type"] == "m.room.message")
        token = page.get("end")
        if not token or not page["chunk"]:
            break
    return list(reversed(events))


async def test_acknowledged_messages_survive_kill_9_and_retries_do_not_duplicate(
    make_server: ServerFactory,
):
    server = make_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        alice = await register(server, http, "alice")
        room_id = (await alice.ok("POST", "/createRoom", json={"name": "crash"}))["room_id"]
        acked = await send_all(alice, room_id, server)
        assert len(acked) >= KILL_AFTER

        server.start()
        stored = {e["event_id"]: e for e in await all_messages(alice, room_id)}
        lost = {txn: eid for txn, eid in acked.items() if eid not in stored}
        assert not lost, f"{len(lost)} acknowledged messages were lost: {lost}"
        for txn, event_id in acked.items():
            assert stored[event_id]["content"]["body"] == f"message {txn}"

        # A client that never got its answer retries with the same transaction ID;
        # one that did may retry too. Neither may produce a second copy.
        for i in range(MESSAGES):
            txn = f"txn{i}"
            retried = await alice.ok(
                "PUT",
                f"/rooms/{room_id}/send/m.room.message/{txn}",
                json={"msgtype": "m.text", "body": f"message {txn}"},
            )
            if txn in acked:
                assert retried["event_id"] == acked[txn], f"retry of {txn} got a new event"
        bodies = [e["content"]["body"] for e in await all_messages(alice, room_id)]
        assert sorted(bodies) == sorted(f"message txn{i}" for i in range(MESSAGES))


async def test_a_sync_token_from_before_a_crash_still_works_after_restart(
    make_server: ServerFactory,
):
    server = make_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        alice = await register(server, http, "alice")
        bob = await register(server, http, "bob")
        room_id = (await alice.ok("POST", "/createRoom", json={"invite": [bob.user_id]}))["room_id"]
        await bob.ok("POST", f"/join/{room_id}", json={})
        before = await alice.ok(
            "PUT",
            f"/rooms/{room_id}/send/m.room.message/a",
            json={"body": "before", "msgtype": "m.text"},
        )
        token = (await bob.ok("GET", "/sync?timeout=0"))["next_batch"]
        during = [
            (
                await alice.ok(
                    "PUT",
                    f"/rooms/{room_id}/send/m.room.message/d{i}",
                    json={"body": f"during {i}", "msgtype": "m.text"},
                )
            )["event_id"]
            for i in range(5)
        ]
        server.kill()
        server.start()

        after = await alice.ok(
            "PUT",
            f"/rooms/{room_id}/send/m.room.message/z",
            json={"body": "after", "msgtype": "m.text"},
        )
        sync_filter = '{"room":{"timeline":{"limit":50}}}'
        synced = await bob.ok(
            "GET", "/sync", params={"timeout": 0, "since": token, "filter": sync_filter}
        )
        timeline = [e["event_id"] for e in synced["rooms"]["join"][room_id]["timeline"]["events"]]
        assert before["event_id"] not in timeline
        assert timeline[-6:] == [*during, after["event_id"]]
        assert synced["next_batch"] != token

        # The new token moves on from there: nothing old comes back.
        again = await bob.ok("GET", "/sync", params={"timeout": 0, "since": synced["next_batch"]})
        room = again.get("rooms", {}).get("join", {}).get(room_id, {})
        assert not room.get("timeline", {}).get("events")


async def test_rooms_created_around_a_kill_9_are_whole_or_absent(make_server: ServerFactory):
    """createRoom writes several events: a crash may lose an unacknowledged room, never half of one."""
    server = make_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        alice = await register(server, http, "alice")
        acked: list[str] = []
        killed = asyncio.Event()

        async def create(i: int) -> None:
            body = {"name": f"salle {i}", "topic": "t", "preset": "private_chat"}
            try:
                response = await alice.request("POST", "/createRoom", json=body)
            except httpx.HTTPError:
                return
            if response.status_code == 200:
                acked.append(response.json()["room_id"])
            if len(acked) >= 8 and not killed.is_set():
                killed.set()
                server.kill()

        async def worker(start: int) -> None:
            for i in range(start, 40, 4):
                if killed.is_set():
                    return
                await create(i)

        await asyncio.gather(*(worker(n) for n in range(4)))
        server.kill()
        server.start()

        joined = (await alice.ok("GET", "/joined_rooms"))["joined_rooms"]
        assert set(acked) <= set(joined), f"acknowledged rooms lost: {set(acked) - set(joined)}"
        for room_id in joined:
            state = await alice.ok("GET", f"/rooms/{room_id}/state")
            kinds = {(e["type"], e["state_key"]) for e in state}
            for needed in [
                ("m.room.create", ""),
                ("m.room.member", alice.user_id),
                ("m.room.power_levels", ""),
                ("m.room.join_rules", ""),
                ("m.room.name", ""),
                ("m.room.topic", ""),
            ]:
                assert needed in kinds, f"{room_id} came back without {needed}: {sorted(kinds)}"
