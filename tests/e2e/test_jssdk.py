"""matrix-js-sdk with its Rust crypto, run by Node 22, against the real server process.

Each js-sdk client lives in a Node process (tests/e2e/jssdk/driver.mjs) that
the test drives command by command; nio clients run in the test itself. The
scenarios run on SQLite and on PostgreSQL.
"""

import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nio
import pytest

from tests.e2e.jssdk.jsclient import JsDriver, require_node
from tests.e2e.nio_helpers import PASSWORD, ok, register, sync_until, timeline
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
async def js(tmp_path: Path) -> AsyncIterator[JsDriver]:
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


async def js_login(js: JsDriver, server: ServerProcess, name: str, user_id: str, **extra: str):
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


async def test_the_driver_runs_node_22_and_matrix_js_sdk(js: JsDriver):
    assert js.node_version.startswith("v22."), js.node_version
    version = await js.call("version")
    assert version["node"] == js.node_version
    assert version["sdk"] == "matrix-js-sdk"


async def test_js_sdk_logs_in_and_chats_with_nio_in_a_plain_room(
    server: ServerProcess, js: JsDriver
):
    alice_id = await new_account(server, "alice")
    bob = await register(server, "bob")
    try:
        me = await js_login(js, server, "alice", alice_id)
        assert me["userId"] == alice_id and me["deviceId"]
        room_id = await js.call("createRoom", name="alice", invite=[bob.user_id], encrypted=False)
        ok(await bob.join(room_id), nio.JoinResponse, "POST /join")
        await js.call("waitForMember", name="alice", roomId=room_id, userId=bob.user_id)

        sent = await js.call("send", name="alice", roomId=room_id, body="Bonjour depuis js")
        await sync_until(
            bob,
            lambda r: any(
                e["event_id"] == sent and e["content"]["body"] == "Bonjour depuis js"
                for e in timeline(r, room_id)
            ),
            "the js-sdk message at nio",
            within_s=30,
        )
        ok(
            await bob.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "Salut"}),
            nio.RoomSendResponse,
            "PUT send",
        )
        seen = await js.call("waitForMessage", name="alice", roomId=room_id, body="Salut")
        assert seen["sender"] == bob.user_id
        assert seen["encrypted"] is False
    finally:
        await bob.close()


# ---- encrypted scenarios ------------------------------------------------------------


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


async def test_js_sdk_and_nio_exchange_encrypted_messages_both_ways(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    alice_id = await new_account(server, "alice")
    bob = e2ee_nio_client(server, tmp_path / "bob")
    try:
        ok(
            await bob.register(f"bob_{secrets.token_hex(4)}", PASSWORD, "nio"),
            nio.RegisterResponse,
            "POST /register",
        )
        ok(await bob.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")
        await nio_keys_round(bob)

        await js_login(js, server, "alice", alice_id)
        room_id = await js.call("createRoom", name="alice", invite=[bob.user_id], encrypted=True)
        await sync_until(bob, lambda r: room_id in r.rooms.invite, "bob's invite", within_s=30)
        ok(await bob.join(room_id), nio.JoinResponse, "POST /join")
        await js.call("waitForMember", name="alice", roomId=room_id, userId=bob.user_id)

        from_js = "Bonjour Bob, chiffré 🔐"
        await js.call("send", name="alice", roomId=room_id, body=from_js)
        got = await nio_sync_until_text(bob, room_id, from_js)
        assert isinstance(got, nio.RoomMessageText) and got.decrypted
        assert got.sender == alice_id

        from_nio = "Salut Alice, chiffré aussi"
        await bob.joined_members(room_id)
        await nio_keys_round(bob)
        ok(
            await bob.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": from_nio},
                ignore_unverified_devices=True,
            ),
            nio.RoomSendResponse,
            "PUT send (encrypted)",
        )
        seen = await js.call("waitForMessage", name="alice", roomId=room_id, body=from_nio)
        assert seen["sender"] == bob.user_id
        assert seen["encrypted"] is True and seen["failure"] is None

        # The server only ever had ciphertext.
        stored = await raw_messages(server, bob.access_token, room_id)
        assert [e["type"] for e in stored] == ["m.room.encrypted"] * 2
        assert not any(text in str(stored) for text in (from_js, from_nio))
    finally:
        await bob.close()


async def test_js_sdk_learns_of_a_new_nio_device_and_encrypts_for_it(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    """device_lists.changed reaches the js-sdk, which then shares the room key with the device."""
    alice_id = await new_account(server, "alice")
    bob = e2ee_nio_client(server, tmp_path / "bob")
    bob_phone: nio.AsyncClient | None = None
    try:
        ok(
            await bob.register(f"bob_{secrets.token_hex(4)}", PASSWORD, "nio"),
            nio.RegisterResponse,
            "POST /register",
        )
        ok(await bob.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")
        await nio_keys_round(bob)
        await js_login(js, server, "alice", alice_id)
        room_id = await js.call("createRoom", name="alice", invite=[bob.user_id], encrypted=True)
        await sync_until(bob, lambda r: room_id in r.rooms.invite, "bob's invite", within_s=30)
        ok(await bob.join(room_id), nio.JoinResponse, "POST /join")
        await js.call("waitForMember", name="alice", roomId=room_id, userId=bob.user_id)
        await js.call("send", name="alice", roomId=room_id, body="before the phone")
        await nio_sync_until_text(bob, room_id, "before the phone")

        bob_phone = e2ee_nio_client(server, tmp_path / "bob_phone")
        bob_phone.user = bob.user_id
        ok(await bob_phone.login(PASSWORD, device_name="phone"), nio.LoginResponse, "login")
        ok(await bob_phone.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")
        await nio_keys_round(bob_phone)
        known = await js.call(
            "waitForDevice", name="alice", userId=bob.user_id, deviceId=bob_phone.device_id
        )
        assert bob.device_id in known

        await js.call("send", name="alice", roomId=room_id, body="hello, phone")
        got = await nio_sync_until_text(bob_phone, room_id, "hello, phone")
        assert got.decrypted and got.sender == alice_id
    finally:
        await bob.close()
        if bob_phone is not None:
            await bob_phone.close()


async def test_a_new_js_sdk_device_restores_the_key_backup_and_decrypts_history(
    server: ServerProcess, js: JsDriver
):
    alice_id = await new_account(server, "alice")
    laptop = await js_login(js, server, "laptop", alice_id)
    setup = await js.call("bootstrap", name="laptop")
    assert setup["crossSigningReady"] is True
    assert setup["secretStorageReady"] is True
    assert setup["backupVersion"] and setup["recoveryKey"]

    room_id = await js.call("createRoom", name="laptop", encrypted=True)
    bodies = [f"note {i}: budget secret {secrets.token_hex(3)}" for i in range(3)]
    for body in bodies:
        await js.call("send", name="laptop", roomId=room_id, body=body)
    backup = await js.call("waitForBackup", name="laptop", sessions=1)
    assert backup["version"] == setup["backupVersion"]
    # The server holds ciphertext only: in the room and in the backup.
    token = laptop["accessToken"]
    stored = await raw_messages(server, token, room_id)
    assert [e["type"] for e in stored] == ["m.room.encrypted"] * 3
    backed_up = await get_json(server, token, "/room_keys/keys", version=backup["version"])
    sessions = backed_up["rooms"][room_id]["sessions"]
    assert all("ciphertext" in s["session_data"] for s in sessions.values())
    assert not any(body in str(stored) + str(backed_up) for body in bodies)
    # The laptop goes away: the new device cannot ask it for keys.
    await js.call("stop", name="laptop")

    await js_login(js, server, "phone", alice_id, recoveryKey=setup["recoveryKey"])
    status = await js.call("crossSigningStatus", name="phone")
    assert status["userHasKeys"] is True
    before = await js.call("history", name="phone", roomId=room_id)
    assert [m["body"] for m in before] == [None, None, None]
    assert all(m["encrypted"] and m["failure"] for m in before)

    restored = await js.call("restoreBackup", name="phone")
    assert restored["version"] == setup["backupVersion"]
    assert restored["imported"] >= 1 and restored["total"] >= restored["imported"]
    after = await js.call("history", name="phone", roomId=room_id)
    assert [m["body"] for m in after] == bodies
    assert all(m["encrypted"] and m["failure"] is None for m in after)


async def test_a_new_js_sdk_device_cross_signs_itself_and_the_first_device_trusts_it(
    server: ServerProcess, js: JsDriver
):
    alice_id = await new_account(server, "alice")
    laptop = await js_login(js, server, "laptop", alice_id)
    setup = await js.call("bootstrap", name="laptop")
    room_id = await js.call("createRoom", name="laptop", encrypted=True)

    phone = await js_login(js, server, "phone", alice_id, recoveryKey=setup["recoveryKey"])
    assert await js.call("crossSignFromSecretStorage", name="phone") is True
    # The signature travels: /keys/signatures/upload, device_lists.changed, /keys/query.
    await js.call(
        "waitForCrossSignedDevice", name="laptop", userId=alice_id, deviceId=phone["deviceId"]
    )
    await js.call(
        "waitForCrossSignedDevice", name="phone", userId=alice_id, deviceId=laptop["deviceId"]
    )

    # The laptop's next message is encrypted for the phone too.
    await js.call("waitForRoom", name="phone", roomId=room_id, encrypted=True)
    body = f"to all my devices {secrets.token_hex(3)}"
    await js.call("send", name="laptop", roomId=room_id, body=body)
    seen = await js.call("waitForMessage", name="phone", roomId=room_id, body=body)
    assert seen["encrypted"] is True and seen["sender"] == alice_id


async def test_after_another_device_replaces_the_backup_the_first_one_moves_to_it(
    server: ServerProcess, js: JsDriver
):
    """The laptop learns of the new version and re-uploads every key to it.

    It learns either from the phone, which sends the new backup key to its
    verified devices by to-device message, or from the server, which refuses
    an upload to the deleted version.
    """
    alice_id = await new_account(server, "alice")
    await js_login(js, server, "laptop", alice_id)
    setup = await js.call("bootstrap", name="laptop")
    room_id = await js.call("createRoom", name="laptop", encrypted=True)
    await js.call("send", name="laptop", roomId=room_id, body="first, in backup v1")
    await js.call("waitForBackup", name="laptop", sessions=1)

    await js_login(js, server, "phone", alice_id, recoveryKey=setup["recoveryKey"])
    assert await js.call("crossSignFromSecretStorage", name="phone") is True
    replaced = await js.call("resetBackup", name="phone")
    assert replaced["version"] and replaced["version"] != setup["backupVersion"]
    await js.call("stop", name="phone")

    # A new session gives the laptop something to upload; it must all land in v2.
    await js.call("forceDiscardSession", name="laptop", roomId=room_id)
    await js.call("send", name="laptop", roomId=room_id, body="second, after the reset")
    moved = await js.call("waitForBackup", name="laptop", sessions=2, version=replaced["version"])
    assert moved["sessions"] == 2
    await js.call("stop", name="laptop")

    await js_login(js, server, "tablet", alice_id, recoveryKey=setup["recoveryKey"])
    restored = await js.call("restoreBackup", name="tablet")
    assert restored["version"] == replaced["version"] and restored["imported"] == 2
    history = await js.call("history", name="tablet", roomId=room_id)
    assert [m["body"] for m in history] == ["first, in backup v1", "second, after the reset"]


async def test_a_new_js_sdk_device_fetches_each_missing_session_from_the_backup_on_demand(
    server: ServerProcess, js: JsDriver
):
    """Element's way: no bulk restore; each undecryptable event fetches its one session.

    That is GET /room_keys/keys/{roomId}/{sessionId}, and session IDs are
    unpadded base64 that often contain "/" (sent as %2F): four rooms make it
    very likely that one does.
    """
    alice_id = await new_account(server, "alice")
    await js_login(js, server, "laptop", alice_id)
    setup = await js.call("bootstrap", name="laptop")
    messages: dict[str, str] = {}
    for i in range(4):
        room_id = await js.call("createRoom", name="laptop", encrypted=True)
        messages[room_id] = f"room {i}: {secrets.token_hex(3)}"
        await js.call("send", name="laptop", roomId=room_id, body=messages[room_id])
    await js.call("waitForBackup", name="laptop", sessions=len(messages))
    await js.call("stop", name="laptop")

    await js_login(js, server, "phone", alice_id, recoveryKey=setup["recoveryKey"])
    loaded = await js.call("loadBackupKey", name="phone")
    assert loaded["version"] == setup["backupVersion"]
    for room_id, body in messages.items():
        history = await js.call("waitForHistoryDecrypted", name="phone", roomId=room_id)
        assert [m["body"] for m in history] == [body]


async def test_a_dehydrated_js_sdk_device_receives_keys_while_alice_is_offline(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    """MSC3814: bob's room key reaches alice's dehydrated device; her next login rehydrates it."""
    alice_id = await new_account(server, "alice")
    await js_login(js, server, "laptop", alice_id)
    setup = await js.call("bootstrap", name="laptop")
    dehydrated = await js.call("dehydrate", name="laptop")
    bob = e2ee_nio_client(server, tmp_path / "bob")
    try:
        ok(
            await bob.register(f"bob_{secrets.token_hex(4)}", PASSWORD, "nio"),
            nio.RegisterResponse,
            "POST /register",
        )
        ok(await bob.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")
        await nio_keys_round(bob)
        room_id = await js.call("createRoom", name="laptop", invite=[bob.user_id], encrypted=True)
        await sync_until(bob, lambda r: room_id in r.rooms.invite, "bob's invite", within_s=30)
        ok(await bob.join(room_id), nio.JoinResponse, "POST /join")
        await js.call("waitForMember", name="laptop", roomId=room_id, userId=bob.user_id)
        # Alice goes offline: only her dehydrated device can take bob's key now.
        await js.call("stop", name="laptop")

        ok(await bob.sync(timeout=0), nio.SyncResponse, "/sync")
        await nio_keys_round(bob)
        ok(await bob.joined_members(room_id), nio.JoinedMembersResponse, "joined_members")
        await nio_keys_round(bob)
        assert dehydrated["deviceId"] in bob.device_store[alice_id]
        body = f"while you were away {secrets.token_hex(3)}"
        ok(
            await bob.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": body},
                ignore_unverified_devices=True,
            ),
            nio.RoomSendResponse,
            "PUT send (encrypted)",
        )
    finally:
        await bob.close()

    await js_login(js, server, "phone", alice_id, recoveryKey=setup["recoveryKey"])
    assert await js.call("crossSignFromSecretStorage", name="phone") is True
    outcome = await js.call("rehydrate", name="phone")
    assert outcome["error"] is None and outcome["completed"] is True
    assert outcome["roomKeys"] >= 1
    history = await js.call("waitForHistoryDecrypted", name="phone", roomId=room_id)
    assert [m["body"] for m in history] == [body]


async def test_rooms_the_js_sdk_creates_are_encrypted_by_default_for_good(
    make_server: ServerFactory, js: JsDriver
):
    """With the default policy, a private room is encrypted without the client asking."""
    server = make_server(encryption={"encrypt_new_rooms": "not_public"})
    alice_id = await new_account(server, "alice")
    alice = await js_login(js, server, "alice", alice_id)
    room_id = await js.call("createRoom", name="alice", encrypted=False, expectEncrypted=True)
    body = f"encrypted by default {secrets.token_hex(3)}"
    await js.call("send", name="alice", roomId=room_id, body=body)
    stored = await raw_messages(server, alice["accessToken"], room_id)
    assert [e["type"] for e in stored] == ["m.room.encrypted"]
    assert body not in str(stored)

    # Encryption cannot be turned off, nor its algorithm changed.
    for content in ({}, {"algorithm": "m.none"}):
        refused = await js.call(
            "sendState", name="alice", roomId=room_id, type="m.room.encryption", content=content
        )
        assert "eventId" not in refused, f"the server accepted m.room.encryption {content}"
        assert refused["status"] in (400, 403), refused
    assert await js.call("isEncrypted", name="alice", roomId=room_id) is True
