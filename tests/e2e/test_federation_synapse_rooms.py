"""Rooms shared between Sceau and a real Synapse over TLS, created on either side.

Synapse 1.163 makes room version 12 rooms (IDs without a server name, joined
with ``server_name=``) and Sceau version 11 ones, so both the v2 and v2.1
state resolution paths meet another implementation. Joins, invites,
messages, edits, redactions, receipts and typing cross in both directions.
"""

import asyncio
import ssl
from pathlib import Path

import nio
import pytest

from tests.e2e.federation_servers import FederationLab
from tests.e2e.synapse_server import SynapsePair, SynapseProcess
from tests.e2e.test_federation_rooms import ephemeral, has_body, send, sync_until, timeline
from tests.e2e.test_federation_synapse import register_on_synapse
from tests.e2e.test_federation_tls import register

pytestmark = pytest.mark.e2e


@pytest.fixture
def pair(synapse_pair: SynapsePair) -> tuple[FederationLab, SynapseProcess]:
    return synapse_pair.lab, synapse_pair.synapse


def joined(room_id: str):  # type: ignore[no-untyped-def]
    return lambda body: room_id in body.get("rooms", {}).get("join", {})


async def test_a_sceau_user_joins_a_synapse_room_and_they_talk(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s1")
    sam = await register_on_synapse(synapse, "sam_s1")
    room_id = (await sam.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await alice.ok("POST", f"/join/{room_id}?server_name={synapse.name}")
    await sync_until(alice, joined(room_id), "the Synapse room joined")
    await sync_until(
        sam,
        lambda b: any(
            e["type"] == "m.room.member" and e.get("state_key") == alice.user_id
            for e in timeline(b, room_id)
        ),
        "alice's join on Synapse",
    )
    first = await send(sam, room_id, {"msgtype": "m.text", "body": "from synapse"}, "s1")
    await sync_until(alice, has_body(room_id, "from synapse"), "Synapse's message on Sceau")
    mine = await send(alice, room_id, {"msgtype": "m.text", "body": "from sceau"}, "a1")
    await sync_until(sam, has_body(room_id, "from sceau"), "Sceau's message on Synapse")

    edit = {
        "msgtype": "m.text",
        "body": "* edited on synapse",
        "m.new_content": {"msgtype": "m.text", "body": "edited on synapse"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": first},
    }
    await send(sam, room_id, edit, "s2")
    await sync_until(alice, has_body(room_id, "* edited on synapse"), "the edit")
    await alice.ok("PUT", f"/rooms/{room_id}/redact/{mine}/r1", json={})
    await sync_until(
        sam,
        lambda b: any(e["type"] == "m.room.redaction" for e in timeline(b, room_id)),
        "the redaction on Synapse",
    )
    await sam.ok("POST", f"/rooms/{room_id}/receipt/m.read/{mine}", json={})
    await sync_until(
        alice,
        lambda b: any(e["type"] == "m.receipt" for e in ephemeral(b, room_id)),
        "Synapse's receipt",
    )


async def test_a_synapse_user_joins_a_sceau_room_and_they_talk(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s2")
    sam = await register_on_synapse(synapse, "sam_s2")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await sam.ok("POST", f"/join/{room_id}?server_name={lab.servers[0].name}")
    await sync_until(sam, joined(room_id), "the Sceau room joined on Synapse")
    await send(alice, room_id, {"msgtype": "m.text", "body": "hello synapse"}, "a1")
    await sync_until(sam, has_body(room_id, "hello synapse"), "Sceau's message on Synapse")
    await send(sam, room_id, {"msgtype": "m.text", "body": "hello sceau"}, "s1")
    await sync_until(alice, has_body(room_id, "hello sceau"), "Synapse's message on Sceau")
    await sam.ok(
        "PUT", f"/rooms/{room_id}/typing/{sam.user_id}", json={"typing": True, "timeout": 20000}
    )
    await sync_until(
        alice,
        lambda b: any(
            e["type"] == "m.typing" and sam.user_id in e["content"].get("user_ids", [])
            for e in ephemeral(b, room_id)
        ),
        "Synapse's typing",
    )


async def test_invites_cross_both_ways_and_are_accepted(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s3")
    sam = await register_on_synapse(synapse, "sam_s3")
    ours = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    await alice.ok("POST", f"/rooms/{ours}/invite", json={"user_id": sam.user_id})
    await sync_until(sam, lambda b: ours in b.get("rooms", {}).get("invite", {}), "invite")
    await sam.ok("POST", f"/join/{ours}")
    await send(alice, ours, {"msgtype": "m.text", "body": "in our room"}, "a1")
    await sync_until(sam, has_body(ours, "in our room"), "the message after the invite")

    theirs = (await sam.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    await sam.ok("POST", f"/rooms/{theirs}/invite", json={"user_id": alice.user_id})
    await sync_until(alice, lambda b: theirs in b.get("rooms", {}).get("invite", {}), "invite")
    await alice.ok("POST", f"/join/{theirs}")
    await send(sam, theirs, {"msgtype": "m.text", "body": "in their room"}, "s1")
    await sync_until(alice, has_body(theirs, "in their room"), "the message after the invite")


def _synapse_e2ee_client(synapse: SynapseProcess, store: Path) -> nio.AsyncClient:
    """A nio client with its own crypto store, trusting the run's CA for Synapse's TLS."""
    store.mkdir(parents=True)
    config = nio.AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=45,
    )
    context = ssl.create_default_context(cafile=str(synapse.ca_path))
    return nio.AsyncClient(synapse.url, "", store_path=str(store), config=config, ssl=context)


async def test_nio_e2ee_clients_exchange_encrypted_messages_with_synapse(pair, tmp_path):
    from tests.e2e.nio_helpers import PASSWORD, close_all, ok, unique
    from tests.e2e.test_nio_e2ee import (
        crypto_sync,
        decrypted_texts,
        encrypted_room,
        register_e2ee,
        send_secret,
        undecryptable,
        until,
    )

    lab, synapse = pair
    alice = await register_e2ee(lab.servers[0].process, tmp_path, "alice_se")
    sam = _synapse_e2ee_client(synapse, tmp_path / "sam")
    try:
        ok(await sam.register(unique("sam_se"), PASSWORD, "e2e"), nio.RegisterResponse, "register")
        await crypto_sync(sam)
        encryption = {"algorithm": "m.megolm.v1.aes-sha2"}
        room_id = await encrypted_room(
            alice,
            sam,
            initial_state=[{"type": "m.room.encryption", "state_key": "", "content": encryption}],
        )
        await send_secret(alice, room_id, "from sceau, sealed")
        await until(
            [alice, sam],
            lambda: "from sceau, sealed" in decrypted_texts(sam, room_id),
            "Synapse's client decrypts",
            within_s=60,
        )
        await send_secret(sam, room_id, "from synapse, sealed")
        await until(
            [alice, sam],
            lambda: "from synapse, sealed" in decrypted_texts(alice, room_id),
            "Sceau's client decrypts",
            within_s=60,
        )
        assert not undecryptable(alice, room_id) and not undecryptable(sam, room_id)
    finally:
        await close_all(alice, sam)


async def test_synapse_stopped_for_a_while_catches_up_on_the_room(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s4")
    sam = await register_on_synapse(synapse, "sam_s4")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await sam.ok("POST", f"/join/{room_id}?server_name={lab.servers[0].name}")
    await sync_until(sam, joined(room_id), "the room joined on Synapse")
    synapse.stop()
    try:
        for n in range(3):
            await send(alice, room_id, {"msgtype": "m.text", "body": f"while away {n}"}, f"w{n}")
        await asyncio.sleep(0.5)  # Sceau fails at least once and backs off
    finally:
        synapse.start()
    seen: set[str] = set()

    def all_three(body: dict) -> bool:
        seen.update(e.get("content", {}).get("body", "") for e in timeline(body, room_id))
        return {f"while away {n}" for n in range(3)} <= seen

    sam.since = None
    await sync_until(sam, all_three, "the messages sent while Synapse was down")
