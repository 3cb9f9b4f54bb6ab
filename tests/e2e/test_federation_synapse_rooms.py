"""Rooms shared between Sceau and a real Synapse over TLS, created on either side.

Synapse 1.163 makes room version 12 rooms (IDs without a server name, joined
with ``server_name=``) and Sceau version 11 ones, so both the v2 and v2.1
state resolution paths meet another implementation. Joins, invites,
messages, edits, redactions, receipts and typing cross in both directions.
"""

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nio
import pytest

from tests.e2e.federation_servers import OUTAGE_S, FederationLab, wait_for_federation_listener
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


def redacts(room_id: str, event_id: str) -> Callable[[dict[str, Any]], bool]:
    """A sync holding the redaction of ``event_id`` (``redacts`` at the top or in content)."""
    return lambda body: any(
        e["type"] == "m.room.redaction"
        and e.get("redacts", e.get("content", {}).get("redacts")) == event_id
        for e in timeline(body, room_id)
    )


def receipt_for(room_id: str, event_id: str, user_id: str) -> Callable[[dict[str, Any]], bool]:
    """A sync carrying ``user_id``'s read receipt for ``event_id``."""
    return lambda body: any(
        e["type"] == "m.receipt" and user_id in e["content"].get(event_id, {}).get("m.read", {})
        for e in ephemeral(body, room_id)
    )


def typing(room_id: str, user_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: any(
        e["type"] == "m.typing" and user_id in e["content"].get("user_ids", [])
        for e in ephemeral(body, room_id)
    )


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
    await sync_until(sam, redacts(room_id, mine), "the redaction on Synapse")
    assert (await sam.ok("GET", f"/rooms/{room_id}/event/{mine}"))["content"] == {}
    await sam.ok("POST", f"/rooms/{room_id}/receipt/m.read/{mine}", json={})
    await sync_until(alice, receipt_for(room_id, mine, sam.user_id), "Synapse's receipt")


async def test_a_synapse_user_joins_a_sceau_room_and_they_talk(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s2")
    sam = await register_on_synapse(synapse, "sam_s2")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await sam.ok("POST", f"/join/{room_id}?server_name={lab.servers[0].name}")
    await sync_until(sam, joined(room_id), "the Sceau room joined on Synapse")
    first = await send(alice, room_id, {"msgtype": "m.text", "body": "hello synapse"}, "a1")
    await sync_until(sam, has_body(room_id, "hello synapse"), "Sceau's message on Synapse")
    theirs = await send(sam, room_id, {"msgtype": "m.text", "body": "hello sceau"}, "s1")
    await sync_until(alice, has_body(room_id, "hello sceau"), "Synapse's message on Sceau")

    edit = {
        "msgtype": "m.text",
        "body": "* edited on sceau",
        "m.new_content": {"msgtype": "m.text", "body": "edited on sceau"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": first},
    }
    await send(alice, room_id, edit, "a2")
    await sync_until(sam, has_body(room_id, "* edited on sceau"), "Sceau's edit on Synapse")
    await sam.ok("PUT", f"/rooms/{room_id}/redact/{theirs}/r1", json={})
    await sync_until(alice, redacts(room_id, theirs), "Synapse's redaction on Sceau")
    assert (await alice.ok("GET", f"/rooms/{room_id}/event/{theirs}"))["content"] == {}
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
        await until(
            [alice, sam_phone],
            lambda: sam_phone.device_id in alice.device_store[sam.user_id],
            "Alice's client sees Sam's new device",
            within_s=60,
        )
        await send_secret(alice, room_id, "for sam's phone")
        await until(
            [alice, sam, sam_phone],
            lambda: "for sam's phone" in decrypted_texts(sam_phone, room_id),
            "Sam's new device decrypts",
            within_s=60,
        )

        # Alice logs in a second device on Sceau: Synapse learns of it, and Sam's next
        # message is readable there.
        alice_laptop = await login_e2ee(lab.servers[0].process, tmp_path, alice.user_id, "laptop")
        extra.append(alice_laptop)
        _seen(alice_laptop)
        await until(
            [sam, alice_laptop],
            lambda: alice_laptop.device_id in sam.device_store[alice.user_id],
            "Sam's client sees Alice's new device",
            within_s=60,
        )
        await send_secret(sam, room_id, "for alice's laptop")
        await until(
            [alice, sam, alice_laptop],
            lambda: "for alice's laptop" in decrypted_texts(alice_laptop, room_id),
            "Alice's new device decrypts",
            within_s=60,
        )
        for client in (alice, sam, sam_phone, alice_laptop):
            assert not undecryptable(client, room_id), client.user_id
    finally:
        await close_all(alice, sam, *extra)


async def test_synapse_stopped_for_a_while_catches_up_on_the_room(pair):
    """Messages, an edit, a redaction and a receipt sent while Synapse is down reach it."""
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice_s4")
    sam = await register_on_synapse(synapse, "sam_s4")
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await sam.ok("POST", f"/join/{room_id}?server_name={lab.servers[0].name}")
    await sync_until(sam, joined(room_id), "the room joined on Synapse")
    sams = await send(sam, room_id, {"msgtype": "m.text", "body": "before"}, "s0")
    await sync_until(alice, has_body(room_id, "before"), "Sam's message before the outage")
    synapse.stop()
    try:
        away = [
            await send(alice, room_id, {"msgtype": "m.text", "body": f"while away {n}"}, f"w{n}")
            for n in range(3)
        ]
        edit = {
            "msgtype": "m.text",
            "body": "* while away 0, edited",
            "m.new_content": {"msgtype": "m.text", "body": "while away 0, edited"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": away[0]},
        }
        await send(alice, room_id, edit, "e0")
        await alice.ok("PUT", f"/rooms/{room_id}/redact/{away[1]}/r0", json={})
        await alice.ok("POST", f"/rooms/{room_id}/receipt/m.read/{sams}", json={})
        await asyncio.sleep(OUTAGE_S)  # Sceau fails at least once and backs off
    finally:
        synapse.start()
    seen: set[str] = set()
    redacted, read = False, False

    def everything(body: dict[str, Any]) -> bool:
        nonlocal redacted, read
        seen.update(e.get("content", {}).get("body", "") for e in timeline(body, room_id))
        redacted = redacted or redacts(room_id, away[1])(body)
        read = read or receipt_for(room_id, sams, alice.user_id)(body)
        wanted = {"while away 0", "while away 2", "* while away 0, edited"}
        return wanted <= seen and redacted and read

    sam.since = None
    await sync_until(sam, everything, "what Sceau sent while Synapse was down")
    assert (await sam.ok("GET", f"/rooms/{room_id}/event/{away[1]}"))["content"] == {}


async def test_sceau_stopped_for_a_while_is_caught_up_by_synapse(pair):
    """Synapse's side of the outage: its sends fail and are retried until Sceau is back.

    Synapse first retries the failed transaction itself (every 2 s here,
    ``max_long_retry_delay``); after ten failures it marks Sceau down and later
    catches it up, at once if Sceau makes a signed request (Alice speaking
    again here), else on its minute-long wake-up.
    """
    lab, synapse = pair
    sceau = lab.servers[0]
    alice = await register(sceau, "alice_s5")
    sam = await register_on_synapse(synapse, "sam_s5")
    room_id = (await sam.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await alice.ok("POST", f"/join/{room_id}?server_name={synapse.name}")
    await sync_until(alice, joined(room_id), "the Synapse room joined")
    await send(sam, room_id, {"msgtype": "m.text", "body": "before"}, "b0")
    await sync_until(alice, has_body(room_id, "before"), "a message before the outage")
    assert sceau.process is not None
    sceau.process.stop()
    try:
        away = [
            await send(sam, room_id, {"msgtype": "m.text", "body": f"while away {n}"}, f"s{n}")
            for n in range(3)
        ]
        edit = {
            "msgtype": "m.text",
            "body": "* while away 0, edited",
            "m.new_content": {"msgtype": "m.text", "body": "while away 0, edited"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": away[0]},
        }
        await send(sam, room_id, edit, "e0")
        await sam.ok("PUT", f"/rooms/{room_id}/redact/{away[1]}/r0", json={})
        await asyncio.sleep(OUTAGE_S)  # Synapse fails and backs off
    finally:
        sceau.process.start()
        wait_for_federation_listener(sceau, lab.ca_path)
    await send(alice, room_id, {"msgtype": "m.text", "body": "back"}, "a1")
    seen: set[str] = set()
    redacted = False

    def everything(body: dict[str, Any]) -> bool:
        nonlocal redacted
        seen.update(e.get("content", {}).get("body", "") for e in timeline(body, room_id))
        redacted = redacted or redacts(room_id, away[1])(body)
        wanted = {"while away 0", "while away 2", "* while away 0, edited"}
        return wanted <= seen and redacted

    await sync_until(alice, everything, "what Synapse sent while Sceau was down")
    assert (await alice.ok("GET", f"/rooms/{room_id}/event/{away[1]}"))["content"] == {}
    await sync_until(sam, has_body(room_id, "back"), "Sceau's message after its restart")
