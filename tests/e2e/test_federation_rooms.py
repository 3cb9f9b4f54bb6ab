"""Rooms shared by two real Sceau processes over TLS: joins, messages, edits, redactions,
receipts, typing, invites and the allowlist (an outage: test_federation_outage.py)."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.federation_servers import (
    FederationLab,
    edit_then_redact,
    invited,
    joined,
    new_device_reads,
    receipt_for,
    register,
    running_lab,
    say,
    sync_until,
    typing,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FederationLab]:
    with running_lab(tmp_path_factory.mktemp("federation-rooms")) as lab:
        yield lab


@pytest.mark.parametrize("host_index", [0, 1])
async def test_a_room_made_on_either_side_carries_messages_edits_and_redactions(lab, host_index):
    host, guest = lab.servers[host_index], lab.servers[1 - host_index]
    owner = await register(host, f"owner{host_index}")
    visitor = await register(guest, f"visitor{host_index}")
    room = await owner.ok("POST", "/createRoom", json={"preset": "public_chat", "name": "Shared"})
    room_id = room["room_id"]
    await visitor.ok("POST", f"/join/{room_id}?server_name={host.name}")
    await sync_until(visitor, joined(room_id), "the joined room")

    first = await say(owner, visitor, room_id, "hello", "t1", "the host's message")
    reply = await say(visitor, owner, room_id, "hi back", "t2", "the guest's reply")
    await edit_then_redact(room_id, owner, first, visitor, reply, "hello, edited", reason="oops")


async def test_receipts_and_typing_cross_both_ways(lab):
    a, b = lab.servers
    alice, bob = await register(a, "alice_t"), await register(b, "bob_t")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room_id}?server_name={a.name}")
    message = await say(bob, alice, room_id, "read me", "t1", "bob's message")
    await sync_until(bob, lambda body: True, "a first sync")

    await alice.ok(
        "PUT", f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 20000}
    )
    await sync_until(bob, typing(room_id, alice.user_id), "alice typing")
    await alice.ok("POST", f"/rooms/{room_id}/receipt/m.read/{message}", json={})
    await sync_until(bob, receipt_for(room_id, message, alice.user_id), "alice's read receipt")

    # And the other way: B's typing and receipt reach A.
    answer = await say(alice, bob, room_id, "your turn", "t2", "alice's message")
    await bob.ok(
        "PUT", f"/rooms/{room_id}/typing/{bob.user_id}", json={"typing": True, "timeout": 20000}
    )
    await sync_until(alice, typing(room_id, bob.user_id), "bob typing")
    await bob.ok("POST", f"/rooms/{room_id}/receipt/m.read/{answer}", json={})
    await sync_until(alice, receipt_for(room_id, answer, bob.user_id), "bob's read receipt")


async def test_an_invite_crosses_names_the_invitee_and_the_invitee_joins(lab):
    a, b = lab.servers
    alice, carol = await register(a, "alice_i"), await register(b, "carol_i")
    await carol.ok("PUT", f"/profile/{carol.user_id}/displayname", json={"displayname": "Carol"})
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    await alice.ok("POST", f"/rooms/{room_id}/invite", json={"user_id": carol.user_id})
    invite = await alice.ok("GET", f"/rooms/{room_id}/state/m.room.member/{carol.user_id}")
    assert invite == {"membership": "invite", "displayname": "Carol"}  # from her server
    await sync_until(carol, invited(room_id), "the invite")
    await carol.ok("POST", f"/join/{room_id}")
    await say(alice, carol, room_id, "welcome", "t1", "the message after joining")


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
        await new_device_reads(alice, bob, bob_phone, room_id, "for the phone too", "Bob's", 40)
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
