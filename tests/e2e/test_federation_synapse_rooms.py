"""Rooms shared between Sceau and a real Synapse over TLS, created on either side.

Synapse 1.163 makes room version 12 rooms (IDs without a server name, joined
with ``server_name=``) and Sceau version 11 ones, so both the v2 and v2.1
state resolution paths meet another implementation. Joins, invites,
messages, edits, redactions, receipts and typing cross in both directions.
Either side stopped for two minutes: test_federation_outage.py.
"""

import ssl
from pathlib import Path

import nio
import pytest

from tests.e2e.federation_servers import (
    FederationLab,
    edit_then_redact,
    invited,
    joined,
    new_device_reads,
    receipt_for,
    register,
    say,
    sync_until,
    timeline,
    typing,
)
from tests.e2e.synapse_server import SynapsePair, SynapseProcess
from tests.e2e.test_federation_synapse import register_on_synapse

pytestmark = pytest.mark.e2e


@pytest.fixture
def pair(synapse_pair: SynapsePair) -> tuple[FederationLab, SynapseProcess]:
    return synapse_pair.lab, synapse_pair.synapse


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
    first = await say(sam, alice, room_id, "from synapse", "s1", "Synapse's message on Sceau")
    mine = await say(alice, sam, room_id, "from sceau", "a1", "Sceau's message on Synapse")
    await edit_then_redact(room_id, sam, first, alice, mine, "edited on synapse")
    await sam.ok("POST", f"/rooms/{room_id}/receipt/m.read/{mine}", json={})
    await sync_until(alice, receipt_for(room_id, mine, sam.user_id), "Synapse's receipt")


async def test_a_synapse_user_joins_a_sceau_room_and_they_talk(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s2")
    sam = await register_on_synapse(synapse, "sam_s2")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await sam.ok("POST", f"/join/{room_id}?server_name={lab.servers[0].name}")
    await sync_until(sam, joined(room_id), "the Sceau room joined on Synapse")
    first = await say(alice, sam, room_id, "hello synapse", "a1", "Sceau's message on Synapse")
    theirs = await say(sam, alice, room_id, "hello sceau", "s1", "Synapse's message on Sceau")
    await edit_then_redact(room_id, alice, first, sam, theirs, "edited on sceau")
    await alice.ok("POST", f"/rooms/{room_id}/receipt/m.read/{theirs}", json={})
    await sync_until(sam, receipt_for(room_id, theirs, alice.user_id), "Sceau's receipt on Synapse")
    await alice.ok(
        "PUT", f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 20000}
    )
    await sync_until(sam, typing(room_id, alice.user_id), "Sceau's typing on Synapse")
    await sam.ok(
        "PUT", f"/rooms/{room_id}/typing/{sam.user_id}", json={"typing": True, "timeout": 20000}
    )
    await sync_until(alice, typing(room_id, sam.user_id), "Synapse's typing on Sceau")


async def test_invites_cross_both_ways_and_are_accepted(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s3")
    sam = await register_on_synapse(synapse, "sam_s3")
    ours = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    await alice.ok("POST", f"/rooms/{ours}/invite", json={"user_id": sam.user_id})
    await sync_until(sam, invited(ours), "invite")
    await sam.ok("POST", f"/join/{ours}")
    await say(alice, sam, ours, "in our room", "a1", "the message after the invite")

    theirs = (await sam.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    await sam.ok("POST", f"/rooms/{theirs}/invite", json={"user_id": alice.user_id})
    await sync_until(alice, invited(theirs), "invite")
    await alice.ok("POST", f"/join/{theirs}")
    await say(sam, alice, theirs, "in their room", "s1", "the message after the invite")


def _synapse_e2ee_client(
    synapse: SynapseProcess, store: Path, user_id: str = ""
) -> nio.AsyncClient:
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
    return nio.AsyncClient(synapse.url, user_id, store_path=str(store), config=config, ssl=context)


async def test_nio_e2ee_clients_exchange_encrypted_messages_with_synapse_and_new_devices(
    pair, tmp_path
):
    """Both ways, then after each side adds a device mid-conversation: nothing undecryptable."""
    from tests.e2e.nio_helpers import PASSWORD, close_all, ok, unique
    from tests.e2e.test_nio_e2ee import (
        _seen,
        crypto_sync,
        decrypted_texts,
        encrypted_room,
        login_e2ee,
        register_e2ee,
        send_secret,
        undecryptable,
        until,
    )

    lab, synapse = pair
    alice = await register_e2ee(lab.servers[0].process, tmp_path, "alice_se")
    sam = _synapse_e2ee_client(synapse, tmp_path / "sam")
    extra: list[nio.AsyncClient] = []
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

        # Sam logs in a second device on Synapse: Sceau learns of it from Synapse's
        # device-list update, and Alice's next message is readable there too.
        sam_phone = _synapse_e2ee_client(synapse, tmp_path / "sam_phone", sam.user_id)
        extra.append(sam_phone)
        ok(await sam_phone.login(PASSWORD, device_name="phone"), nio.LoginResponse, "login")
        await crypto_sync(sam_phone)
        _seen(sam_phone)
        await new_device_reads(alice, sam, sam_phone, room_id, "for sam's phone", "Sam's", 60)

        # Alice logs in a second device on Sceau: Synapse learns of it, and Sam's next
        # message is readable there.
        alice_laptop = await login_e2ee(lab.servers[0].process, tmp_path, alice.user_id, "laptop")
        extra.append(alice_laptop)
        _seen(alice_laptop)
        await new_device_reads(
            sam, alice, alice_laptop, room_id, "for alice's laptop", "Alice's", 60
        )
        for client in (alice, sam, sam_phone, alice_laptop):
            assert not undecryptable(client, room_id), client.user_id
    finally:
        await close_all(alice, sam, *extra)
