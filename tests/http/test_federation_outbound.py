"""Local activity in a room shared with a remote server is queued for that server.

Remote members normally arrive through a federated join; here one is written
into the room's current state directly, so the transport is tested alone.
"""

import orjson
import pytest

from sceau.storage.federation_queue import OutboxStore
from tests.http.federation_support import REMOTE, federation_overrides
from tests.http.test_keys_helpers import upload_device

REMOTE_USER = f"@bob:{REMOTE}"
OFF_LIST_USER = "@eve:stranger.example"


@pytest.fixture
def config_overrides():
    return federation_overrides()


async def _room_with_remote_members(services, alice) -> str:
    room_id = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    async with services.stores.db.transaction() as txn:
        for user in (REMOTE_USER, OFF_LIST_USER):
            await txn.execute(
                "INSERT INTO current_state (room_id, type, state_key, event_id, membership, stream_pos)"
                " VALUES (?, 'm.room.member', ?, ?, 'join', 0)",
                room_id,
                user,
                "$fake" + user,
            )
    return room_id


async def _queued(services, destination):
    items = await OutboxStore(services.stores.db).pending(destination, "pdu", 50)
    edus = await OutboxStore(services.stores.db).pending(destination, "edu", 100)
    return [orjson.loads(i.body) for i in items], [orjson.loads(i.body) for i in edus]


async def test_a_local_message_is_queued_for_the_remote_members_server_only(services, user_factory):
    alice = await user_factory("alice")
    room_id = await _room_with_remote_members(services, alice)
    sent = await alice.ok(
        "PUT", f"/rooms/{room_id}/send/m.room.message/t1", json={"msgtype": "m.text", "body": "hi"}
    )
    pdus, _ = await _queued(services, REMOTE)
    assert [p["content"].get("body") for p in pdus] == ["hi"]
    assert "unsigned" not in pdus[0]
    assert pdus[0]["signatures"]["test.local"]
    assert sent["event_id"]
    assert await OutboxStore(services.stores.db).destinations() == [REMOTE]


async def test_typing_and_receipts_of_local_users_become_edus(services, user_factory):
    alice = await user_factory("alice")
    room_id = await _room_with_remote_members(services, alice)
    event_id = (
        await alice.ok(
            "PUT",
            f"/rooms/{room_id}/send/m.room.message/t1",
            json={"msgtype": "m.text", "body": "hi"},
        )
    )["event_id"]
    await alice.ok(
        "PUT", f"/rooms/{room_id}/typing/{alice.user_id}", json={"typing": True, "timeout": 5000}
    )
    await alice.ok("POST", f"/rooms/{room_id}/receipt/m.read/{event_id}", json={})
    _, edus = await _queued(services, REMOTE)
    types = [e["edu_type"] for e in edus]
    assert "m.typing" in types and "m.receipt" in types
    typing = next(e for e in edus if e["edu_type"] == "m.typing")["content"]
    assert typing == {"room_id": room_id, "user_id": alice.user_id, "typing": True, "timeout": 5000}
    receipt = next(e for e in edus if e["edu_type"] == "m.receipt")["content"]
    assert receipt[room_id]["m.read"][alice.user_id]["event_ids"] == [event_id]


async def test_presence_and_device_changes_go_to_servers_sharing_a_room(services, user_factory):
    alice = await user_factory("alice")
    await _room_with_remote_members(services, alice)
    await alice.ok("PUT", f"/presence/{alice.user_id}/status", json={"presence": "unavailable"})
    device = await upload_device(alice)
    _, edus = await _queued(services, REMOTE)
    presence = [e["content"] for e in edus if e["edu_type"] == "m.presence"]
    assert presence and presence[-1]["push"][0]["presence"] == "unavailable"
    updates = [e["content"] for e in edus if e["edu_type"] == "m.device_list_update"]
    assert updates and updates[-1]["device_id"] == alice.device_id
    assert updates[-1]["keys"]["keys"] == device.device_keys()["keys"]


async def test_to_device_for_a_remote_user_is_queued_for_its_server(services, user_factory):
    alice = await user_factory("alice")
    messages = {REMOTE_USER: {"DEV": {"ciphertext": "x"}}, OFF_LIST_USER: {"D": {"c": 1}}}
    await alice.ok("PUT", "/sendToDevice/m.room.encrypted/txn1", json={"messages": messages})
    await alice.ok("PUT", "/sendToDevice/m.room.encrypted/txn1", json={"messages": messages})
    _, edus = await _queued(services, REMOTE)
    (edu,) = edus
    assert edu["edu_type"] == "m.direct_to_device"
    assert edu["content"]["sender"] == alice.user_id
    assert edu["content"]["messages"] == {REMOTE_USER: {"DEV": {"ciphertext": "x"}}}
    assert await OutboxStore(services.stores.db).destinations() == [REMOTE]


async def test_one_transaction_id_for_two_to_device_types_makes_two_distinct_message_ids(
    services, user_factory
):
    alice = await user_factory("alice")
    messages = {REMOTE_USER: {"DEV": {"ciphertext": "x"}}}
    for event_type in ("m.room.encrypted", "m.room_key_request", "m.room.encrypted"):
        await alice.ok("PUT", f"/sendToDevice/{event_type}/T", json={"messages": messages})
    _, edus = await _queued(services, REMOTE)
    contents = [e["content"] for e in edus if e["edu_type"] == "m.direct_to_device"]
    assert [c["type"] for c in contents] == ["m.room.encrypted", "m.room_key_request"]
    # The receiver drops a message ID it has seen: each request needs its own.
    assert len({c["message_id"] for c in contents}) == 2


class TestDisabled:
    @pytest.fixture
    def config_overrides(self):
        return {}

    async def test_nothing_is_queued_when_federation_is_disabled(self, services, user_factory):
        alice = await user_factory("alice")
        room_id = await _room_with_remote_members(services, alice)
        await alice.ok(
            "PUT",
            f"/rooms/{room_id}/send/m.room.message/t1",
            json={"msgtype": "m.text", "body": "hi"},
        )
        await alice.ok("PUT", "/sendToDevice/m.x/t", json={"messages": {REMOTE_USER: {"D": {}}}})
        assert await OutboxStore(services.stores.db).destinations() == []


async def test_cross_signing_keys_go_out_as_a_signing_key_update(services, user_factory):
    from tests.http.test_keys_helpers import CrossSigning

    alice = await user_factory("alice")
    await _room_with_remote_members(services, alice)
    await upload_device(alice)
    cross = CrossSigning(alice.user_id)
    body = cross.upload_body()
    await alice.ok("POST", "/keys/device_signing/upload", json=body)
    _, edus = await _queued(services, REMOTE)
    updates = [e["content"] for e in edus if e["edu_type"] == "m.signing_key_update"]
    assert updates, [e["edu_type"] for e in edus]
    assert updates[-1]["user_id"] == alice.user_id
    assert updates[-1]["master_key"]["keys"] == body["master_key"]["keys"]
    assert "user_signing_key" not in updates[-1]


async def test_a_deleted_device_goes_out_as_deleted(services, client, register):
    from tests.http.test_devices import password_auth, second_session

    alice = await register("alice")
    await second_session(client, "alice", "PHONE")
    await _room_with_remote_members(services, alice)
    await alice.ok("DELETE", "/devices/PHONE", json={"auth": password_auth(alice.user_id)})
    _, edus = await _queued(services, REMOTE)
    deleted = [
        e["content"]
        for e in edus
        if e["edu_type"] == "m.device_list_update" and e["content"]["deleted"]
    ]
    assert [d["device_id"] for d in deleted] == ["PHONE"]
    assert deleted[0]["stream_id"] > 0
