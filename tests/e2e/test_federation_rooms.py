"""Rooms shared by two real Sceau processes over TLS: joins, messages, edits, redactions,
receipts, typing, invites, catch-up after an outage, and the allowlist."""

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.federation_servers import OUTAGE_S, FederationLab, wait_for_federation_listener
from tests.e2e.test_federation_tls import Client, register

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FederationLab]:
    lab = FederationLab(tmp_path_factory.mktemp("federation-rooms"))
    lab.declare()
    lab.declare()
    try:
        lab.start_all()
        yield lab
    finally:
        lab.stop_all()


async def sync_until(
    client: Client, check: Callable[[dict[str, Any]], bool], what: str, rounds: int = 60
) -> dict[str, Any]:
    """Long-poll /sync (1 s each) until ``check`` holds for one response."""
    for _ in range(rounds):
        query = "?timeout=1000" + (f"&since={client.since}" if client.since else "")
        body = await client.ok("GET", "/sync" + query)
        client.since = body["next_batch"]
        if check(body):
            return body
    raise AssertionError(f"never seen in /sync: {what}")


def timeline(body: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    room = body.get("rooms", {}).get("join", {}).get(room_id, {})
    return room.get("timeline", {}).get("events", [])


def ephemeral(body: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    room = body.get("rooms", {}).get("join", {}).get(room_id, {})
    return room.get("ephemeral", {}).get("events", [])


def has_body(room_id: str, text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(
        e.get("content", {}).get("body") == text for e in timeline(body, room_id)
    )


async def send(client: Client, room_id: str, content: dict[str, Any], txn: str) -> str:
    answer = await client.ok("PUT", f"/rooms/{room_id}/send/m.room.message/{txn}", json=content)
    return answer["event_id"]


@pytest.mark.parametrize("host_index", [0, 1])
async def test_a_room_made_on_either_side_carries_messages_edits_and_redactions(lab, host_index):
    host, guest = lab.servers[host_index], lab.servers[1 - host_index]
    owner = await register(host, f"owner{host_index}")
    visitor = await register(guest, f"visitor{host_index}")
    room = await owner.ok("POST", "/createRoom", json={"preset": "public_chat", "name": "Shared"})
    room_id = room["room_id"]
    await visitor.ok("POST", f"/join/{room_id}?server_name={host.name}")
    await sync_until(
        visitor,
        lambda b: room_id in b.get("rooms", {}).get("join", {}),
        "the joined room",
    )

    first = await send(owner, room_id, {"msgtype": "m.text", "body": "hello"}, "t1")
    await sync_until(visitor, has_body(room_id, "hello"), "the host's message")
    reply = await send(visitor, room_id, {"msgtype": "m.text", "body": "hi back"}, "t2")
    await sync_until(owner, has_body(room_id, "hi back"), "the guest's reply")

    edit = {
        "msgtype": "m.text",
        "body": "* hello, edited",
        "m.new_content": {"msgtype": "m.text", "body": "hello, edited"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": first},
    }
    await send(owner, room_id, edit, "t3")
    await sync_until(visitor, has_body(room_id, "* hello, edited"), "the edit")

    await visitor.ok("PUT", f"/rooms/{room_id}/redact/{reply}/r1", json={"reason": "oops"})
    await sync_until(
        owner,
        lambda b: any(
            e["type"] == "m.room.redaction"
            and e.get("redacts", e["content"].get("redacts")) == reply
            for e in timeline(b, room_id)
        ),
        "the redaction",
    )
    redacted = await owner.ok("GET", f"/rooms/{room_id}/event/{reply}")
    assert redacted["content"] == {}


async def test_receipts_and_typing_cross_both_ways(lab):
    a, b = lab.servers
    alice, bob = await register(a, "alice_t"), await register(b, "bob_t")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room_id}?server_name={a.name}")
    message = await send(bob, room_id, {"msgtype": "m.text", "body": "read me"}, "t1")
    await sync_until(alice, has_body(room_id, "read me"), "bob's message")
    await sync_until(bob, lambda body: True, "a first sync")

    await alice.ok(
        "PUT", f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 20000}
    )
    await sync_until(
        bob,
        lambda body: any(
            e["type"] == "m.typing" and alice.user_id in e["content"].get("user_ids", [])
            for e in ephemeral(body, room_id)
        ),
        "alice typing",
    )
    await alice.ok("POST", f"/rooms/{room_id}/receipt/m.read/{message}", json={})
    await sync_until(
        bob,
        lambda body: any(
            e["type"] == "m.receipt" and message in e["content"] for e in ephemeral(body, room_id)
        ),
        "alice's read receipt",
    )

    # And the other way: B's typing and receipt reach A.
    answer = await send(alice, room_id, {"msgtype": "m.text", "body": "your turn"}, "t2")
    await sync_until(bob, has_body(room_id, "your turn"), "alice's message")
    await bob.ok(
        "PUT", f"/rooms/{room_id}/typing/{bob.user_id}", json={"typing": True, "timeout": 20000}
    )
    await sync_until(
        alice,
        lambda body: any(
            e["type"] == "m.typing" and bob.user_id in e["content"].get("user_ids", [])
            for e in ephemeral(body, room_id)
        ),
        "bob typing",
    )
    await bob.ok("POST", f"/rooms/{room_id}/receipt/m.read/{answer}", json={})
    await sync_until(
        alice,
        lambda body: any(
            e["type"] == "m.receipt" and answer in e["content"] for e in ephemeral(body, room_id)
        ),
        "bob's read receipt",
    )


async def test_an_invite_crosses_names_the_invitee_and_the_invitee_joins(lab):
    a, b = lab.servers
    alice, carol = await register(a, "alice_i"), await register(b, "carol_i")
    await carol.ok("PUT", f"/profile/{carol.user_id}/displayname", json={"displayname": "Carol"})
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    await alice.ok("POST", f"/rooms/{room_id}/invite", json={"user_id": carol.user_id})
    invite = await alice.ok("GET", f"/rooms/{room_id}/state/m.room.member/{carol.user_id}")
    assert invite == {"membership": "invite", "displayname": "Carol"}  # from her server
    await sync_until(
        carol, lambda body: room_id in body.get("rooms", {}).get("invite", {}), "the invite"
    )
    await carol.ok("POST", f"/join/{room_id}")
    await send(alice, room_id, {"msgtype": "m.text", "body": "welcome"}, "t1")
    await sync_until(carol, has_body(room_id, "welcome"), "the message after joining")


async def test_a_stopped_server_catches_up_on_the_room(lab):
    """Messages, an edit, a redaction and a receipt sent while B is down all reach it."""
    a, b = lab.servers
    alice, bob = await register(a, "alice_c"), await register(b, "bob_c")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room_id}?server_name={a.name}")
    await sync_until(bob, lambda body: room_id in body.get("rooms", {}).get("join", {}), "join")
    bobs = await send(bob, room_id, {"msgtype": "m.text", "body": "before"}, "b0")
    await sync_until(alice, has_body(room_id, "before"), "bob's message before the outage")
    assert b.process is not None
    b.process.stop()
    try:
        missed = [
            await send(alice, room_id, {"msgtype": "m.text", "body": f"missed {n}"}, f"m{n}")
            for n in range(3)
        ]
        edit = {
            "msgtype": "m.text",
            "body": "* missed 0, edited",
            "m.new_content": {"msgtype": "m.text", "body": "missed 0, edited"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": missed[0]},
        }
        await send(alice, room_id, edit, "e0")
        await alice.ok("PUT", f"/rooms/{room_id}/redact/{missed[1]}/r0", json={})
        await alice.ok("POST", f"/rooms/{room_id}/receipt/m.read/{bobs}", json={})
        await asyncio.sleep(OUTAGE_S)  # A fails at least once and backs off
    finally:
        b.process.start()
        wait_for_federation_listener(b, lab.ca_path)
    seen: set[str] = set()
    redacted: set[str] = set()
    read: set[str] = set()

    def everything(body: dict[str, Any]) -> bool:
        events = timeline(body, room_id)
        seen.update(e.get("content", {}).get("body", "") for e in events)
        redacted.update(
            e.get("redacts", e["content"].get("redacts"))
            for e in events
            if e["type"] == "m.room.redaction"
        )
        read.update(
            event_id
            for e in ephemeral(body, room_id)
            if e["type"] == "m.receipt"
            for event_id, receipt in e["content"].items()
            if alice.user_id in receipt.get("m.read", {})
        )
        return (
            {"missed 0", "missed 2", "* missed 0, edited"} <= seen
            and missed[1] in redacted
            and bobs in read
        )

    await sync_until(bob, everything, "what A sent while B was down")
    assert (await bob.ok("GET", f"/rooms/{room_id}/event/{missed[1]}"))["content"] == {}


async def test_a_join_through_a_server_off_the_allowlist_fails_naming_it(lab):
    a, _b = lab.servers
    alice = await register(a, "alice_x")
    outsider = "127.0.0.1:1"
    response = await alice.http.post(
        f"/_matrix/client/v3/join/!room:{outsider}?server_name={outsider}"
    )
    assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert outsider in response.json()["error"]


async def test_nio_e2ee_clients_on_each_server_exchange_encrypted_messages(lab, tmp_path):
    from tests.e2e.nio_helpers import close_all
    from tests.e2e.test_nio_e2ee import (
        _seen,
        decrypted_texts,
        encrypted_room,
        login_e2ee,
        register_e2ee,
        send_secret,
        undecryptable,
        until,
    )

    a, b = lab.servers
    extra: list = []
    alice = await register_e2ee(a.process, tmp_path, "alice_e")
    bob = await register_e2ee(b.process, tmp_path, "bob_e")
    try:
        encryption = {"algorithm": "m.megolm.v1.aes-sha2"}
        room_id = await encrypted_room(
            alice,
            bob,
            initial_state=[{"type": "m.room.encryption", "state_key": "", "content": encryption}],
        )
        await send_secret(alice, room_id, "secret from A")
        await until(
            [alice, bob], lambda: "secret from A" in decrypted_texts(bob, room_id), "B reads"
        )
        await send_secret(bob, room_id, "secret from B")
        await until(
            [alice, bob], lambda: "secret from B" in decrypted_texts(alice, room_id), "A reads"
        )
        assert not undecryptable(alice, room_id) and not undecryptable(bob, room_id)

        # Bob adds a device on B: A learns of it and Alice's next message reaches it too.
        bob_phone = await login_e2ee(b.process, tmp_path, bob.user_id, "phone")
        extra.append(bob_phone)
        _seen(bob_phone)
        await until(
            [alice, bob_phone],
            lambda: bob_phone.device_id in alice.device_store[bob.user_id],
            "A's client sees Bob's new device",
            within_s=40,
        )
        await send_secret(alice, room_id, "for the phone too")
        await until(
            [alice, bob, bob_phone],
            lambda: "for the phone too" in decrypted_texts(bob_phone, room_id),
            "Bob's new device decrypts",
            within_s=40,
        )
        assert not undecryptable(bob_phone, room_id)
    finally:
        await close_all(alice, bob, *extra)


async def test_the_federation_benchmark_runs_between_these_two_servers(lab):
    """``bench.federation``'s workload, tiny, on this module's servers (no new ones to start).

    No timing is asserted (the benchmark reports it): every message from A
    reaches every receiver on B, and each delivery is measured.
    """
    repo = str(Path(__file__).resolve().parents[2])
    if repo not in sys.path:  # bench/ is a folder of the checkout, not an installed package
        sys.path.insert(0, repo)
    from bench.federation import Endpoint, Plan, measure, table

    a, b = (Endpoint(s.name, s.client_url) for s in lab.servers)
    result = await measure(a, b, Plan(receivers=2, messages=3, rate=20.0))
    assert (result["figures"]["deliveries"], result["figures"]["missing"]) == (6, 0)
    assert len(result["latencies_ms"]) == 6
    assert "| delivery p99 (ms) |" in table({"sceau": result})
