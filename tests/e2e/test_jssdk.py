"""matrix-js-sdk with its Rust crypto, run by Node 22, with matrix-nio, against the real server.

Each js-sdk client lives in a Node process (tests/e2e/jssdk/driver.mjs) that
the test drives command by command; nio clients run in the test itself. The
scenarios run on SQLite and on PostgreSQL. Cross-signing and key backup
between js-sdk devices are in test_jssdk_keys.py.
"""

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import nio
import pytest

from tests.e2e.jssdk.helpers import (
    e2ee_nio_client,
    js_login,
    new_account,
    nio_keys_round,
    nio_sync_until_text,
    raw_messages,
    registered_e2ee_client,
    started_driver,
)
from tests.e2e.jssdk.jsclient import JsDriver
from tests.e2e.nio_helpers import PASSWORD, ok, register, sync_until, timeline
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
async def js(tmp_path: Path) -> AsyncIterator[JsDriver]:
    async with started_driver(tmp_path) as driver:
        yield driver


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
        # nio creates and invites; the js-sdk sees the invite in /sync and joins.
        created = ok(
            await bob.room_create(name="Quai d'Orsay", invite=[alice_id]),
            nio.RoomCreateResponse,
            "POST /createRoom",
        )
        room_id = created.room_id
        await js.call("waitForRoom", name="alice", roomId=room_id, membership="invite")
        await js.call("join", name="alice", roomId=room_id, encrypted=False)
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


async def test_js_sdk_and_nio_exchange_encrypted_messages_both_ways(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    alice_id = await new_account(server, "alice")
    bob = await registered_e2ee_client(server, tmp_path / "bob")
    try:
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


async def test_js_sdk_encrypts_for_a_new_nio_device_and_forgets_a_deleted_one(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    """device_lists.changed reaches the js-sdk, which then shares the room key with the device.

    And when the device is deleted, the js-sdk hears of it the same way and forgets it.
    """
    alice_id = await new_account(server, "alice")
    bob = await registered_e2ee_client(server, tmp_path / "bob")
    bob_phone: nio.AsyncClient | None = None
    try:
        await js_login(js, server, "alice", alice_id)
        # This time nio creates the encrypted room and the js-sdk joins it.
        encryption = {"algorithm": "m.megolm.v1.aes-sha2"}
        created = ok(
            await bob.room_create(
                invite=[alice_id],
                initial_state=[
                    {"type": "m.room.encryption", "state_key": "", "content": encryption}
                ],
            ),
            nio.RoomCreateResponse,
            "POST /createRoom",
        )
        room_id = created.room_id
        await js.call("waitForRoom", name="alice", roomId=room_id, membership="invite")
        await js.call("join", name="alice", roomId=room_id, encrypted=True)
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

        # Deleting the device (UIA with the password) is a device-list change too.
        phone_id = bob_phone.device_id
        asked = await bob.delete_devices([phone_id])
        assert isinstance(asked, nio.DeleteDevicesAuthResponse), asked
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": bob.user_id},
            "password": PASSWORD,
            "session": asked.session,
        }
        ok(await bob.delete_devices([phone_id], auth), nio.DeleteDevicesResponse, "DELETE device")
        await js.call(
            "waitForDevice", name="alice", userId=bob.user_id, deviceId=phone_id, present=False
        )
    finally:
        await bob.close()
        if bob_phone is not None:
            await bob_phone.close()


async def test_after_nio_leaves_the_js_sdk_rotates_and_nio_gets_no_new_key(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    """The leave reaches the js-sdk, whose next message starts a session nio never receives."""
    alice_id = await new_account(server, "alice")
    bob = await registered_e2ee_client(server, tmp_path / "bob")
    try:
        alice = await js_login(js, server, "alice", alice_id)
        room_id = await js.call("createRoom", name="alice", invite=[bob.user_id], encrypted=True)
        await sync_until(bob, lambda r: room_id in r.rooms.invite, "bob's invite", within_s=30)
        ok(await bob.join(room_id), nio.JoinResponse, "POST /join")
        await js.call("waitForMember", name="alice", roomId=room_id, userId=bob.user_id)
        await js.call("send", name="alice", roomId=room_id, body="while bob is here")
        await nio_sync_until_text(bob, room_id, "while bob is here")

        ok(await bob.room_leave(room_id), nio.RoomLeaveResponse, "POST /leave")
        await js.call(
            "waitForMember", name="alice", roomId=room_id, userId=bob.user_id, membership="leave"
        )
        await js.call("send", name="alice", roomId=room_id, body="after bob left")
        stored = await raw_messages(server, alice["accessToken"], room_id)
        before, after = (e["content"]["session_id"] for e in reversed(stored))
        assert before != after, "the js-sdk kept the megolm session after bob left"

        for _ in range(3):  # anything addressed to bob's device has had time to arrive
            ok(await bob.sync(timeout=300), nio.SyncResponse, "/sync")
            await nio_keys_round(bob)
        known = {session.id for session in bob.olm.inbound_group_store}
        assert before in known and after not in known
    finally:
        await bob.close()


async def test_a_dehydrated_js_sdk_device_receives_keys_while_alice_is_offline(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    """MSC3814: bob's room key reaches alice's dehydrated device; her next login rehydrates it."""
    alice_id = await new_account(server, "alice")
    await js_login(js, server, "laptop", alice_id)
    setup = await js.call("bootstrap", name="laptop")
    dehydrated = await js.call("dehydrate", name="laptop")
    bob = await registered_e2ee_client(server, tmp_path / "bob")
    try:
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
