"""A worker deployment federating with a single-process Sceau, over TLS on loopback.

Server A is four real processes on one PostgreSQL with a private Redis:
``main`` (the federation listener), ``writer1`` (writes every room),
``sync1`` and ``fed`` (the ``federation_sender``: the only one sending the
queue). Server B is one process. So every event B sends is received by
A's ``main`` and placed by ``writer1``; every event A's users send is
queued by ``writer1``; typing, receipts and presence set on ``sync1`` are
queued there; and all of it leaves A from ``fed``.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, require_postgres, require_system_package
from tests.e2e.federation_servers import (
    FederatedServer,
    FederationLab,
    wait_for_federation_listener,
)
from tests.e2e.workers_support import Client, Cluster, RedisServer, register

pytestmark = pytest.mark.e2e

ROLES = {
    "main": ["main"],
    "writer1": ["event_writer"],
    "sync1": ["sync"],
    "fed": ["federation_sender"],
}
#: How long anything may take to reach the other server (it takes well under a second).
PROMPTLY_S = 15.0

Sync = dict[str, Any]


class Deployment:
    """Server A (the workers) and server B (one process), allowing each other."""

    def __init__(self, lab: FederationLab, b: FederatedServer, a: Cluster, a_name: str) -> None:
        self.lab, self.b, self.a, self.a_name = lab, b, a, a_name

    def url(self, worker: str) -> str:
        return self.a.url(worker)

    def logs(self) -> str:
        other = "\n".join(f"--- {n}\n{text[-4000:]}" for n, text in self.lab.logs())
        return self.a.logs() + "\n" + other


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    require_postgres()
    binary = require_system_package("redis-server", "redis-server")
    folder = tmp_path_factory.mktemp("workers-federation")
    redis_server = RedisServer(binary, folder)
    redis_server.start()
    lab = FederationLab(folder / "lab")
    a_dir = folder / "a"
    a_dir.mkdir()
    fed_port = free_port()
    a_name = f"127.0.0.1:{fed_port}"
    leaf = lab.ca.issue_cert("127.0.0.1")
    leaf.private_key_pem.write_to_path(str(a_dir / "tls.key"))
    leaf.cert_chain_pems[0].write_to_path(str(a_dir / "tls.crt"))
    b = lab.declare(federation={"allow": [a_name]})
    federation = {
        "enabled": True,
        "allow": [b.name],
        "listen": {
            "bind_address": "127.0.0.1",
            "port": fed_port,
            "tls_certificate_path": "tls.crt",
            "tls_private_key_path": "tls.key",
        },
        "ca_file": str(lab.ca_path),
        "min_retry_interval_ms": 200,
        "max_retry_interval_ms": 1000,
        "request_timeout_s": 10,
    }
    a = Cluster(
        a_dir,
        redis_server.url,
        ROLES,
        {"dead_after_s": 9},
        server_name=a_name,
        federation=federation,
    )
    try:
        lab.start_all()
        a.start()
        a_fed = FederatedServer(a_name, f"https://127.0.0.1:{fed_port}", a_dir, a.config)
        wait_for_federation_listener(a_fed, lab.ca_path)
        yield Deployment(lab, b, a, a_name)
    finally:
        try:
            lab.stop_all()  # first: B's connections to main would hold its shutdown
        finally:
            a.stop()
            redis_server.stop()


def run(deployment: Deployment, scenario: Callable[[httpx.AsyncClient], Any]) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            await scenario(http)

    try:
        asyncio.run(main())
    except AssertionError:
        print(deployment.logs())
        raise


class Reader:
    """One user's /sync on one process, long-polled from where it last stopped."""

    def __init__(self, client: Client, base: str) -> None:
        self.client, self.base = client, base
        self.since: str | None = None

    async def until(self, check: Callable[[Sync], bool], what: str) -> Sync:
        deadline = time.monotonic() + PROMPTLY_S
        while time.monotonic() < deadline:
            params: dict[str, Any] = {"timeout": 1000}
            if self.since is not None:
                params["since"] = self.since
            body = await self.client.ok(self.base, "GET", "/sync", params=params)
            self.since = body["next_batch"]
            if check(body):
                return body
        raise AssertionError(f"not seen within {PROMPTLY_S} s on {self.base}: {what}")


def _room(body: Sync, room_id: str, section: str = "join") -> dict[str, Any]:
    return body.get("rooms", {}).get(section, {}).get(room_id, {})


def has_body(room_id: str, text: str) -> Callable[[Sync], bool]:
    return lambda body: any(
        e.get("content", {}).get("body") == text
        for e in _room(body, room_id).get("timeline", {}).get("events", [])
    )


def joined(room_id: str) -> Callable[[Sync], bool]:
    return lambda body: bool(_room(body, room_id))


def invited(room_id: str) -> Callable[[Sync], bool]:
    return lambda body: bool(_room(body, room_id, "invite"))


def has_ephemeral(room_id: str, match: Callable[[dict[str, Any]], bool]) -> Callable[[Sync], bool]:
    return lambda body: any(
        match(e) for e in _room(body, room_id).get("ephemeral", {}).get("events", [])
    )


async def _message(client: Client, base: str, room_id: str, text: str) -> str:
    answer = await client.ok(
        base,
        "PUT",
        f"/rooms/{room_id}/send/m.room.message/{text.replace(' ', '-')}",
        json={"msgtype": "m.text", "body": text},
    )
    return str(answer["event_id"])


async def _shared_room(
    deployment: Deployment, http: httpx.AsyncClient, tag: str
) -> tuple[Client, Reader, Client, Reader, str]:
    """A room made on A (through main), written by writer1, that a user of B joined."""
    main, sync1, b_url = deployment.url("main"), deployment.url("sync1"), deployment.b.client_url
    alice = await register(http, main, f"alice-{tag}")
    bob = await register(http, b_url, f"bob-{tag}")
    room = await alice.ok(main, "POST", "/createRoom", json={"preset": "public_chat"})
    room_id = room["room_id"]
    alice_sync, bob_sync = Reader(alice, sync1), Reader(bob, b_url)
    await bob.ok(b_url, "POST", f"/join/{room_id}", params={"server_name": deployment.a_name})
    await bob_sync.until(joined(room_id), "the room joined on B")
    await alice_sync.until(joined(room_id), "alice's room on A")
    return alice, alice_sync, bob, bob_sync, room_id


def test_messages_cross_both_ways_in_a_room_written_by_the_event_writer(
    deployment: Deployment,
) -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        alice, alice_sync, bob, bob_sync, room_id = await _shared_room(deployment, http, "msg")
        # Sent through the sync worker: the writer writes it, the sender sends it.
        await _message(alice, deployment.url("sync1"), room_id, "from A")
        await bob_sync.until(has_body(room_id, "from A"), "A's message on B")
        # Received by main, placed by the writer, read on the sync worker.
        await _message(bob, deployment.b.client_url, room_id, "from B")
        await alice_sync.until(has_body(room_id, "from B"), "B's message on A")
        # Both sides hold one timeline, in one order.
        pages = [
            await alice.ok(deployment.url("main"), "GET", f"/rooms/{room_id}/messages?dir=b"),
            await bob.ok(deployment.b.client_url, "GET", f"/rooms/{room_id}/messages?dir=b"),
        ]
        orders = [
            [e["event_id"] for e in page["chunk"] if e["type"] == "m.room.message"]
            for page in pages
        ]
        assert orders[0] == orders[1] and len(orders[0]) == 2

    run(deployment, scenario)


def test_invites_cross_through_processes_that_do_not_write_the_room(
    deployment: Deployment,
) -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        main, sync1, b_url = (
            deployment.url("main"),
            deployment.url("sync1"),
            deployment.b.client_url,
        )
        alice = await register(http, main, "alice-invite")
        carol = await register(http, b_url, "carol-invite")
        alice_sync, carol_sync = Reader(alice, sync1), Reader(carol, b_url)
        room = await alice.ok(main, "POST", "/createRoom", json={"preset": "private_chat"})
        room_id = room["room_id"]
        # Asked of main, which does not write the room: writer1 has B countersign it.
        await alice.ok(main, "POST", f"/rooms/{room_id}/invite", json={"user_id": carol.user_id})
        await carol_sync.until(invited(room_id), "the invite on B")
        await carol.ok(b_url, "POST", f"/join/{room_id}", params={"server_name": deployment.a_name})
        await alice_sync.until(
            lambda body: any(
                e.get("state_key") == carol.user_id and e["content"].get("membership") == "join"
                for e in _room(body, room_id).get("timeline", {}).get("events", [])
            ),
            "carol's join on A",
        )
        # The other way: B's room; the invite, the join and the room's events on A
        # are written by writer1 although main received them.
        theirs = await carol.ok(b_url, "POST", "/createRoom", json={"preset": "private_chat"})
        their_room = theirs["room_id"]
        await carol.ok(
            b_url, "POST", f"/rooms/{their_room}/invite", json={"user_id": alice.user_id}
        )
        await alice_sync.until(invited(their_room), "B's invite on A")
        await alice.ok(
            sync1, "POST", f"/join/{their_room}", params={"server_name": deployment.b.name}
        )
        await alice_sync.until(joined(their_room), "B's room joined on A")
        await _message(carol, b_url, their_room, "in B's room")
        await alice_sync.until(has_body(their_room, "in B's room"), "B's room's message on A")
        await _message(alice, main, their_room, "answer from A")
        await carol_sync.until(has_body(their_room, "answer from A"), "A's answer on B")

    run(deployment, scenario)


def test_typing_receipts_and_presence_set_on_the_sync_worker_reach_the_other_server(
    deployment: Deployment,
) -> None:
    async def scenario(http: httpx.AsyncClient) -> None:
        alice, _alice_sync, _bob, bob_sync, room_id = await _shared_room(deployment, http, "edu")
        sync1 = deployment.url("sync1")
        message = await _message(alice, sync1, room_id, "read me")
        await bob_sync.until(has_body(room_id, "read me"), "the message on B")
        await alice.ok(
            sync1,
            "PUT",
            f"/rooms/{room_id}/typing/{alice.user_id}",
            json={"typing": True, "timeout": 20000},
        )
        await bob_sync.until(
            has_ephemeral(
                room_id,
                lambda e: e["type"] == "m.typing" and alice.user_id in e["content"]["user_ids"],
            ),
            "alice typing, on B",
        )
        await alice.ok(sync1, "POST", f"/rooms/{room_id}/receipt/m.read/{message}", json={})
        await bob_sync.until(
            has_ephemeral(room_id, lambda e: e["type"] == "m.receipt" and message in e["content"]),
            "alice's receipt, on B",
        )
        await alice.ok(
            sync1,
            "PUT",
            f"/presence/{alice.user_id}/status",
            json={"presence": "unavailable", "status_msg": "in a meeting"},
        )
        await bob_sync.until(
            lambda body: any(
                e["sender"] == alice.user_id and e["content"].get("status_msg") == "in a meeting"
                for e in body.get("presence", {}).get("events", [])
            ),
            "alice's presence, on B",
        )

    run(deployment, scenario)


def test_transactions_to_the_other_server_leave_from_the_federation_sender_only(
    deployment: Deployment,
) -> None:
    """What the tests above sent (events from writer1, EDUs from sync1) all left from fed."""
    sent = {
        name: worker.log_text().count(
            f"HTTP Request: PUT {deployment.b.federation_url}/_matrix/federation/v1/send/"
        )
        for name, worker in deployment.a.workers.items()
    }
    assert sent["fed"] > 0 and [n for n, count in sent.items() if count] == ["fed"], sent
