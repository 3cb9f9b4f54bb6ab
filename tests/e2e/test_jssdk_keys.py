"""matrix-js-sdk devices of one user: cross-signing, secret storage and key backup.

A first device bootstraps cross-signing (UIA with the password), secret
storage and a key backup; later devices log in with the recovery key. Runs
on SQLite and on PostgreSQL, against the real server process.
"""

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.jssdk.helpers import get_json, js_login, new_account, raw_messages, started_driver
from tests.e2e.jssdk.jsclient import JsDriver
from tests.e2e.server import ServerFactory, ServerProcess, database_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture
async def js(tmp_path: Path) -> AsyncIterator[JsDriver]:
    async with started_driver(tmp_path) as driver:
        yield driver


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


async def test_the_database_holds_no_message_recovery_key_or_backup_key_in_the_clear(
    make_server: ServerFactory, js: JsDriver
):
    server = make_server()
    alice_id = await new_account(server, "alice")
    await js_login(js, server, "laptop", alice_id)
    setup = await js.call("bootstrap", name="laptop")
    room_id = await js.call("createRoom", name="laptop", encrypted=True)
    control = f"visible-control-{secrets.token_hex(4)}"
    await js.call(
        "sendState", name="laptop", roomId=room_id, type="m.room.topic", content={"topic": control}
    )
    bodies = [f"classified-{secrets.token_hex(4)}-{i}" for i in range(3)]
    for body in bodies:
        await js.call("send", name="laptop", roomId=room_id, body=body)
    await js.call("waitForBackup", name="laptop", sessions=1)
    backup_key = (await js.call("clientSecrets", name="laptop"))["backupKey"]
    assert backup_key
    await js.call("quit")
    server.stop()  # everything the server wrote is now on disk

    content = database_bytes(server)
    assert control.encode() in content, "positive control: the search sees stored text"
    recovery_key = setup["recoveryKey"]
    needles = [*bodies, recovery_key, recovery_key.replace(" ", ""), backup_key, '"session_key"']
    found = [needle for needle in needles if needle.encode() in content]
    assert found == [], f"in the clear in the database: {found}"
