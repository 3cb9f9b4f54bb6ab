"""End-to-end encryption with matrix-nio (vodozemac) against the real server process.

The server runs with its default policy (every non-public room encrypted at
creation). Clients make no trust decisions beyond ``ignore_unverified_devices``
when sending, so what is proven is the server's part: keys, one-time keys,
to-device delivery and device-list tracking reach the right devices in time.
Every test runs on SQLite and on PostgreSQL.
"""

import itertools
import time
from pathlib import Path
from typing import Any

import nio
import pytest

from tests.e2e.nio_helpers import PASSWORD, close_all, ok, unique
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e

#: The server's default policy, which the shared e2e config turns off.
ENCRYPTED_BY_DEFAULT = {"encryption": {"encrypt_new_rooms": "not_public"}}
_store_ids = itertools.count()


def e2ee_client(server: ServerProcess, store_root: Path, user: str = "") -> nio.AsyncClient:
    """A nio client with its own crypto store, no retries."""
    store = store_root / f"store{next(_store_ids)}"
    store.mkdir(parents=True)
    config = nio.AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=45,
    )
    return nio.AsyncClient(server.url, user, store_path=str(store), config=config)


async def crypto_sync(client: nio.AsyncClient, timeout_ms: int = 0) -> nio.SyncResponse:
    """One /sync plus the key maintenance nio's sync_forever would do."""
    response = ok(await client.sync(timeout=timeout_ms), nio.SyncResponse, "/sync")
    await maintain_keys(client)
    return response


async def maintain_keys(client: nio.AsyncClient) -> None:
    if client.should_upload_keys:
        ok(await client.keys_upload(), nio.KeysUploadResponse, "POST /keys/upload")
    if client.should_query_keys:
        ok(await client.keys_query(), nio.KeysQueryResponse, "POST /keys/query")
    if client.should_claim_keys:
        ok(
            await client.keys_claim(client.get_users_for_key_claiming()),
            nio.KeysClaimResponse,
            "POST /keys/claim",
        )
    await client.send_to_device_messages()


async def register_e2ee(server: ServerProcess, store_root: Path, localpart: str) -> nio.AsyncClient:
    client = e2ee_client(server, store_root)
    try:
        ok(
            await client.register(unique(localpart), PASSWORD, "e2e"),
            nio.RegisterResponse,
            "register",
        )
        await crypto_sync(client)
    except BaseException:
        await client.close()
        raise
    return client


async def login_e2ee(
    server: ServerProcess, store_root: Path, user_id: str, name: str
) -> nio.AsyncClient:
    client = e2ee_client(server, store_root, user_id)
    try:
        ok(await client.login(PASSWORD, device_name=name), nio.LoginResponse, "login")
        await crypto_sync(client)
    except BaseException:
        await client.close()
        raise
    return client


async def until(
    clients: list[nio.AsyncClient], found: Any, what: str, within_s: float = 20.0
) -> None:
    """Sync every client (with key maintenance) until ``found()`` holds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for client in clients:
            await crypto_sync(client, timeout_ms=200)
        if found():
            return
    pytest.fail(f"{what}: not reached within {within_s}s")


def decrypted_texts(client: nio.AsyncClient, room_id: str) -> list[str]:
    """Bodies of messages this client decrypted in the room (nio keeps them in memory)."""
    return [e.body for e in _seen(client).get(room_id, []) if isinstance(e, nio.RoomMessageText)]


def undecryptable(client: nio.AsyncClient, room_id: str) -> list[nio.MegolmEvent]:
    return [e for e in _seen(client).get(room_id, []) if isinstance(e, nio.MegolmEvent)]


def _seen(client: nio.AsyncClient) -> dict[str, list[Any]]:
    """Timeline events of every sync, recorded by a callback installed on first use."""
    seen: dict[str, list[Any]] | None = getattr(client, "_sceau_seen", None)
    if seen is None:
        seen = {}
        client._sceau_seen = seen  # type: ignore[attr-defined]

        async def record(room: nio.MatrixRoom, event: Any) -> None:
            seen.setdefault(room.room_id, []).append(event)

        client.add_event_callback(record, (nio.RoomMessageText, nio.MegolmEvent))
    return seen


async def send_secret(client: nio.AsyncClient, room_id: str, body: str) -> str:
    response = ok(
        await client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": body},
            ignore_unverified_devices=True,
        ),
        nio.RoomSendResponse,
        "send (encrypted)",
    )
    return str(response.event_id)


async def encrypted_room(owner: nio.AsyncClient, *others: nio.AsyncClient, **kwargs: Any) -> str:
    """A room created with the server's defaults (so encrypted); others invited and joined."""
    for client in (owner, *others):
        _seen(client)
    created = ok(
        await owner.room_create(invite=[o.user_id for o in others], **kwargs),
        nio.RoomCreateResponse,
        "createRoom",
    )
    room_id = str(created.room_id)
    for other in others:
        await until([other], lambda o=other: room_id in o.invited_rooms, "invite")
        ok(await other.join(room_id), nio.JoinResponse, "join")
    everyone = [owner, *others]
    await until(
        everyone,
        lambda: all(
            room_id in c.rooms
            and c.rooms[room_id].encrypted
            and set(c.rooms[room_id].users) >= {x.user_id for x in everyone}
            for c in everyone
        ),
        "everyone joined an encrypted room",
    )
    return room_id


async def dm_both_ways(server: ServerProcess, store_root: Path) -> list[str]:
    """Alice and Bob exchange encrypted DMs; returns the plaintexts used."""
    alice = await register_e2ee(server, store_root, "alice")
    bob = await register_e2ee(server, store_root, "bob")
    secrets_sent = [f"à Bob: le code est {unique('x')}", f"à Alice: reçu {unique('y')}"]
    try:
        room_id = await encrypted_room(
            alice, bob, is_direct=True, preset=nio.RoomPreset.trusted_private_chat
        )
        await send_secret(alice, room_id, secrets_sent[0])
        await until([bob], lambda: secrets_sent[0] in decrypted_texts(bob, room_id), "bob reads")
        await send_secret(bob, room_id, secrets_sent[1])
        await until(
            [alice], lambda: secrets_sent[1] in decrypted_texts(alice, room_id), "alice reads"
        )
        assert not undecryptable(alice, room_id) and not undecryptable(bob, room_id)
    finally:
        await close_all(alice, bob)
    return secrets_sent


# ----------------------------------------------------------------------- tests


@pytest.fixture
def e2ee_server(make_server: ServerFactory) -> ServerProcess:
    return make_server(**ENCRYPTED_BY_DEFAULT)


async def test_encrypted_dm_in_both_directions(e2ee_server: ServerProcess, tmp_path: Path):
    sent = await dm_both_ways(e2ee_server, tmp_path)
    assert len(sent) == 2


async def test_room_of_three_everyone_decrypts_everyone(e2ee_server: ServerProcess, tmp_path):
    clients = [await register_e2ee(e2ee_server, tmp_path, n) for n in ("alice", "bob", "carol")]
    try:
        room_id = await encrypted_room(clients[0], *clients[1:], name="Trio")
        bodies = []
        for i, sender in enumerate(clients):
            body = f"message {i} de {sender.user_id}"
            bodies.append(body)
            await send_secret(sender, room_id, body)
            await until(
                clients,
                lambda b=body, s=sender: all(
                    b in decrypted_texts(c, room_id) for c in clients if c is not s
                ),
                f"everyone decrypts {body!r}",
            )
        for client in clients:
            assert not undecryptable(client, room_id), client.user_id
    finally:
        await close_all(*clients)


async def test_new_device_of_bob_decrypts_alices_next_message(e2ee_server, tmp_path):
    alice = await register_e2ee(e2ee_server, tmp_path, "alice")
    bob = await register_e2ee(e2ee_server, tmp_path, "bob")
    bob_phone = None
    try:
        room_id = await encrypted_room(alice, bob)
        await send_secret(alice, room_id, "avant le téléphone")
        await until([bob], lambda: "avant le téléphone" in decrypted_texts(bob, room_id), "bob")
        bob_phone = await login_e2ee(e2ee_server, tmp_path, bob.user_id, "phone")
        _seen(bob_phone)
        # Alice learns of the new device through device_lists.changed in her sync.
        await until(
            [alice, bob_phone],
            lambda: bob_phone.device_id in alice.device_store[bob.user_id],
            "alice sees bob's new device",
        )
        await send_secret(alice, room_id, "pour le téléphone aussi")
        await until(
            [bob_phone, bob],
            lambda: (
                "pour le téléphone aussi" in decrypted_texts(bob_phone, room_id)
                and "pour le téléphone aussi" in decrypted_texts(bob, room_id)
            ),
            "bob's new device decrypts",
        )
    finally:
        await close_all(alice, bob, *([bob_phone] if bob_phone else []))


async def test_after_bob_leaves_alices_next_message_is_not_decryptable_by_him(
    e2ee_server, tmp_path
):
    alice = await register_e2ee(e2ee_server, tmp_path, "alice")
    bob = await register_e2ee(e2ee_server, tmp_path, "bob")
    carol = await register_e2ee(e2ee_server, tmp_path, "carol")
    try:
        room_id = await encrypted_room(alice, bob, carol)
        first_id = await send_secret(alice, room_id, "tous les trois")
        await until([bob], lambda: "tous les trois" in decrypted_texts(bob, room_id), "bob")
        ok(await bob.room_leave(room_id), nio.RoomLeaveResponse, "leave")
        await until(
            [alice, carol],
            lambda: bob.user_id not in alice.rooms[room_id].users,
            "alice sees bob leave",
        )
        second_id = await send_secret(alice, room_id, "sans Bob")
        await until([carol], lambda: "sans Bob" in decrypted_texts(carol, room_id), "carol")
        first = await _raw_event(alice, room_id, first_id)
        second = await _raw_event(alice, room_id, second_id)
        assert second["type"] == "m.room.encrypted"
        assert second["content"]["session_id"] != first["content"]["session_id"]  # rotated
        await crypto_sync(bob)
        with pytest.raises(nio.EncryptionError):
            bob.decrypt_event(nio.MegolmEvent.from_dict(second))
        # Bob still holds the old session: the rotation, not a broken store, stops him.
        assert bob.decrypt_event(nio.MegolmEvent.from_dict(first)).body == "tous les trois"
    finally:
        await close_all(alice, bob, carol)


async def test_to_device_message_is_delivered_exactly_once(e2ee_server, tmp_path):
    alice = await register_e2ee(e2ee_server, tmp_path, "alice")
    bob = await register_e2ee(e2ee_server, tmp_path, "bob")
    try:
        message = nio.ToDeviceMessage(
            "org.sceau.ping", bob.user_id, bob.device_id, {"nonce": unique("n")}
        )
        for _ in range(3):  # the same transaction ID, retried
            ok(await alice.to_device(message, tx_id="ping-1"), nio.ToDeviceResponse, "to_device")
        received = []
        for _ in range(6):
            response = await crypto_sync(bob, timeout_ms=300)
            received += [
                e.source
                for e in response.to_device_events
                if e.source.get("type") == "org.sceau.ping"
            ]
        assert [e["content"] for e in received] == [message.content]
        assert received[0]["sender"] == alice.user_id
    finally:
        await close_all(alice, bob)


async def _raw_event(client: nio.AsyncClient, room_id: str, event_id: str) -> dict[str, Any]:
    """The event as the server stores it (nio would decrypt it)."""
    import httpx

    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        response = await http.get(
            f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}",
            headers={"Authorization": f"Bearer {client.access_token}"},
        )
    assert response.status_code == 200, response.text
    return dict(response.json())
