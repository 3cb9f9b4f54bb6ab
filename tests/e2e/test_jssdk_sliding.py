"""matrix-js-sdk's SlidingSync (Element Web's labs) against Sceau's Simplified Sliding Sync.

The js-sdk client starts with ``startClient({ slidingSync })`` and a list
"all" (tests/e2e/jssdk/sliding.mjs); it then learns everything through
``POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync`` and its
extensions (to_device, e2ee, account_data, typing, receipts). Others act
through matrix-nio. One server per module, on SQLite and on PostgreSQL.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nio
import pytest

from tests.e2e.jssdk.helpers import (
    e2ee_nio_client,
    nio_keys_round,
    nio_sync_until_text,
    raw_messages,
    registered_e2ee_client,
    started_driver,
)
from tests.e2e.jssdk.jsclient import JsDriver
from tests.e2e.nio_helpers import PASSWORD, close_all, ok, register, send_text, shared_room
from tests.e2e.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
async def js(tmp_path: Path) -> AsyncIterator[JsDriver]:
    async with started_driver(tmp_path) as driver:
        yield driver


async def sliding_login(
    js: JsDriver,
    server: ServerProcess,
    name: str,
    user_id: str,
    timeline_limit: int = 10,
    last_index: int = 50,
) -> Any:
    """The js-sdk logs in and syncs with one list "all" over ranges [[0, last_index]]."""
    args = {"name": name, "baseUrl": server.url, "userId": user_id, "password": PASSWORD}
    return await js.call("slidingLogin", **args, timelineLimit=timeline_limit, lastIndex=last_index)


async def test_the_list_holds_every_room_most_recent_first_and_new_messages_reorder_it(
    server: ServerProcess, js: JsDriver
):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        rooms = [await shared_room(bob, alice, name=f"Bureau {n}") for n in (1, 2, 3)]
        firsts = [
            await send_text(bob, room_id, f"first words in Bureau {n}")
            for n, room_id in enumerate(rooms, 1)
        ]

        await sliding_login(js, server, "alice", alice.user_id)
        listed = await js.call("waitForRoomOrder", name="alice", order=rooms[::-1], count=3)
        assert [r["name"] for r in listed["rooms"]] == ["Bureau 3", "Bureau 2", "Bureau 1"]
        assert all(r["membership"] == "join" for r in listed["rooms"])
        assert (await js.call("responses", name="alice"))["responses"] > 0  # by sliding sync

        # A message lifts its room to the top.
        await send_text(bob, rooms[0], "news in Bureau 1")
        await js.call("waitForRoomOrder", name="alice", order=[rooms[0], rooms[2], rooms[1]])

        # A topic change and a reaction do not (MSC4186's bump event types), the next message does.
        ok(
            await bob.room_put_state(rooms[2], "m.room.topic", {"topic": "Réunion à 10 h"}),
            nio.RoomPutStateResponse,
            "PUT state m.room.topic",
        )
        reaction = {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": firsts[2], "key": "👍"}
        }
        ok(
            await bob.room_send(rooms[2], "m.reaction", reaction),
            nio.RoomSendResponse,
            "PUT send m.reaction",
        )
        await send_text(bob, rooms[1], "news in Bureau 2")
        final = await js.call(
            "waitForRoomOrder", name="alice", order=[rooms[1], rooms[0], rooms[2]], count=3
        )
        assert [r["roomId"] for r in final["rooms"]] == [rooms[1], rooms[0], rooms[2]]
        assert (
            await js.call("waitForMessage", name="alice", roomId=rooms[1], body="news in Bureau 2")
        )["sender"] == bob.user_id
    finally:
        await close_all(alice, bob)


async def test_a_room_outside_the_window_slides_in_with_a_new_message(
    server: ServerProcess, js: JsDriver
):
    """With ranges [[0, 2]] the client gets the three most recent rooms of five, and the count."""
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        rooms = [await shared_room(bob, alice, name=f"Salle {n}") for n in range(5)]
        for room_id in rooms:
            await send_text(bob, room_id, f"in {room_id}")
        await sliding_login(js, server, "alice", alice.user_id, last_index=2)
        listed = await js.call("waitForRoomOrder", name="alice", order=rooms[:1:-1], count=5)
        assert [r["roomId"] for r in listed["rooms"]] == rooms[:1:-1]

        await send_text(bob, rooms[0], "back in the window")
        await js.call("waitForMessage", name="alice", roomId=rooms[0], body="back in the window")
        await js.call("waitForRoomOrder", name="alice", order=[rooms[0], rooms[4], rooms[3]])
        shown = await js.call("roomMessages", name="alice", roomId=rooms[0])
        assert [m["body"] for m in shown] == [f"in {rooms[0]}", "back in the window"]
    finally:
        await close_all(alice, bob)


async def test_an_invite_appears_in_the_list_and_can_be_joined(server: ServerProcess, js: JsDriver):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    await alice.close()
    try:
        await sliding_login(js, server, "alice", alice.user_id)
        assert (await js.call("roomList", name="alice"))["rooms"] == []

        created = ok(
            await bob.room_create(name="Invitation", invite=[alice.user_id]),
            nio.RoomCreateResponse,
            "POST /createRoom",
        )
        room_id = created.room_id
        await js.call("waitForRoom", name="alice", roomId=room_id, membership="invite")
        listed = await js.call("waitForRoomOrder", name="alice", order=[room_id], count=1)
        assert listed["rooms"][0]["membership"] == "invite"
        assert listed["rooms"][0]["name"] == "Invitation"

        await js.call("join", name="alice", roomId=room_id, encrypted=False)
        listed = await js.call("waitForRoomOrder", name="alice", order=[room_id], count=1)
        assert listed["rooms"][0]["membership"] == "join"
        await send_text(bob, room_id, "bienvenue")
        seen = await js.call("waitForMessage", name="alice", roomId=room_id, body="bienvenue")
        assert seen["sender"] == bob.user_id
    finally:
        await bob.close()


async def test_rooms_left_kicked_from_or_refused_leave_the_list(
    server: ServerProcess, js: JsDriver
):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        left, kicked = [await shared_room(bob, alice, name=n) for n in ("Quittée", "Exclue")]
        await sliding_login(js, server, "alice", alice.user_id)
        await js.call("waitForRoomOrder", name="alice", order=[kicked, left], count=2)

        await js.call("leaveRoom", name="alice", roomId=left)
        await js.call("waitForRoom", name="alice", roomId=left, membership="leave")
        await js.call("waitForRoomOrder", name="alice", order=[kicked], count=1)

        ok(await bob.room_kick(kicked, alice.user_id), nio.RoomKickResponse, "POST kick")
        await js.call("waitForRoom", name="alice", roomId=kicked, membership="leave")
        await js.call("waitForRoomOrder", name="alice", order=[], count=0)

        refused = ok(
            await bob.room_create(name="Refusée", invite=[alice.user_id]),
            nio.RoomCreateResponse,
            "POST /createRoom",
        ).room_id
        await js.call("waitForRoomOrder", name="alice", order=[refused], count=1)
        await js.call("leaveRoom", name="alice", roomId=refused)
        await js.call("waitForRoom", name="alice", roomId=refused, membership="leave")
        listed = await js.call("waitForRoomOrder", name="alice", order=[], count=0)
        assert listed["rooms"] == []
    finally:
        await close_all(alice, bob)


async def test_read_receipts_from_another_device_and_from_the_client_clear_the_count(
    server: ServerProcess, js: JsDriver
):
    alice_phone = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        room_id = await shared_room(bob, alice_phone, name="Comptes")
        await sliding_login(js, server, "alice", alice_phone.user_id)
        await send_text(bob, room_id, "un")
        second = await send_text(bob, room_id, "deux")
        await js.call("waitForUnread", name="alice", roomId=room_id, count=2)

        # Read on alice's other device: the count the server sends falls to 0.
        ok(
            await alice_phone.update_receipt_marker(room_id, second),
            nio.UpdateReceiptMarkerResponse,
            "POST receipt m.read",
        )
        await js.call("waitForUnread", name="alice", roomId=room_id, count=0)

        # And read in the SlidingSync client itself.
        third = await send_text(bob, room_id, "trois")
        await js.call("waitForMessage", name="alice", roomId=room_id, body="trois")
        await js.call("waitForUnread", name="alice", roomId=room_id, count=1)
        await js.call("readUpTo", name="alice", roomId=room_id, eventId=third)
        await js.call("waitForUnread", name="alice", roomId=room_id, count=0)

        # A mention highlights; reading clears it too.
        mention = {
            "msgtype": "m.text",
            "body": f"{alice_phone.user_id}: une question",
            "m.mentions": {"user_ids": [alice_phone.user_id]},
        }
        asked = ok(
            await bob.room_send(room_id, "m.room.message", mention),
            nio.RoomSendResponse,
            "PUT send (mention)",
        ).event_id
        highlighted = await js.call("waitForUnread", name="alice", roomId=room_id, count=1)
        assert highlighted["highlights"] == 1
        await js.call("readUpTo", name="alice", roomId=room_id, eventId=asked)
        cleared = await js.call("waitForUnread", name="alice", roomId=room_id, count=0)
        assert cleared["highlights"] == 0
    finally:
        await close_all(alice_phone, bob)


async def test_opening_a_room_or_a_longer_list_timeline_brings_history_on_the_same_connection(
    server: ServerProcess, js: JsDriver
):
    """Element's list asks for one event a room; opening one subscribes to all its state."""
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        opened, other = [await shared_room(bob, alice, name=n) for n in ("Ouverte", "Autre")]
        ok(
            await bob.room_put_state(opened, "m.room.topic", {"topic": "Ordre du jour"}),
            nio.RoomPutStateResponse,
            "PUT state m.room.topic",
        )
        for room_id in (opened, other):
            for n in range(1, 4):
                await send_text(bob, room_id, f"message {n}")

        await sliding_login(js, server, "alice", alice.user_id, timeline_limit=1)
        for room_id in (opened, other):
            await js.call("waitForMessages", name="alice", roomId=room_id, bodies=["message 3"])

        await js.call("subscribeRoom", name="alice", roomId=opened)
        everything = ["message 1", "message 2", "message 3"]
        await js.call("waitForMessages", name="alice", roomId=opened, bodies=everything)
        await js.call("waitForTopic", name="alice", roomId=opened, topic="Ordre du jour")
        # The other room, only in the list, still holds its one event.
        shown = await js.call("roomMessages", name="alice", roomId=other)
        assert [m["body"] for m in shown] == ["message 3"]

        await js.call("setListTimelineLimit", name="alice", timelineLimit=5)
        await js.call("waitForMessages", name="alice", roomId=other, bodies=everything)
        # And live messages still arrive once, after the history.
        await send_text(bob, other, "message 4")
        await js.call(
            "waitForMessages", name="alice", roomId=other, bodies=[*everything, "message 4"]
        )
    finally:
        await close_all(alice, bob)


async def test_typing_and_account_data_reach_the_client_through_their_extensions(
    server: ServerProcess, js: JsDriver
):
    alice_phone = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        room_id = await shared_room(bob, alice_phone, name="Extensions")
        await send_text(bob, room_id, "hello")
        await sliding_login(js, server, "alice", alice_phone.user_id)
        await js.call("waitForMessage", name="alice", roomId=room_id, body="hello")

        ok(
            await bob.room_typing(room_id, typing_state=True, timeout=30000),
            nio.RoomTypingResponse,
            "PUT typing",
        )
        await js.call("waitForTyping", name="alice", roomId=room_id, userId=bob.user_id)
        ok(await bob.room_typing(room_id, typing_state=False), nio.RoomTypingResponse, "PUT typing")
        await js.call(
            "waitForTyping", name="alice", roomId=room_id, userId=bob.user_id, typing=False
        )

        # Set on alice's other device: global account data and a room tag.
        direct = {bob.user_id: [room_id]}
        await put_account_data(
            alice_phone, f"/user/{alice_phone.user_id}/account_data/m.direct", direct
        )
        await js.call("waitForAccountData", name="alice", type="m.direct", content=direct)
        tag_path = f"/user/{alice_phone.user_id}/rooms/{room_id}/tags/m.favourite"
        await put_account_data(alice_phone, tag_path, {"order": 0.5})
        await js.call("waitForTag", name="alice", roomId=room_id, tag="m.favourite")
    finally:
        await close_all(alice_phone, bob)


async def test_one_time_keys_claimed_by_others_are_replenished_from_the_e2ee_counts(
    server: ServerProcess, js: JsDriver
):
    """The e2ee extension's device_one_time_keys_count is what tells the client to upload more."""
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    await alice.close()
    try:
        me = await sliding_login(js, server, "alice", alice.user_id)
        start = await one_time_keys(server, me["accessToken"])
        assert start > 10, start
        claim = {"one_time_keys": {alice.user_id: {me["deviceId"]: "signed_curve25519"}}}
        for _ in range(10):
            claimed = await post_json(server, bob.access_token, "/keys/claim", claim)
            assert claimed["one_time_keys"][alice.user_id][me["deviceId"]], claimed
        now = await one_time_keys(server, me["accessToken"])
        for _ in range(100):
            if now >= start:
                break
            await asyncio.sleep(0.2)
            now = await one_time_keys(server, me["accessToken"])
        assert now >= start, f"the client did not replenish its one-time keys: {now} < {start}"
    finally:
        await bob.close()


async def post_json(server: ServerProcess, token: str, path: str, body: dict) -> dict:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/_matrix/client/v3" + path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, f"POST {path}: {response.status_code} {response.text}"
    return dict(response.json())


async def one_time_keys(server: ServerProcess, token: str) -> int:
    """The device's signed_curve25519 count, as an empty /keys/upload answers it."""
    counts = (await post_json(server, token, "/keys/upload", {}))["one_time_key_counts"]
    return int(counts.get("signed_curve25519", 0))


async def put_account_data(client: nio.AsyncClient, path: str, content: dict) -> None:
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        response = await http.put(
            "/_matrix/client/v3" + path,
            json=content,
            headers={"Authorization": f"Bearer {client.access_token}"},
        )
    assert response.status_code == 200, f"PUT {path}: {response.status_code} {response.text}"


async def test_a_sliding_sync_client_and_nio_exchange_encrypted_messages_both_ways(
    server: ServerProcess, js: JsDriver, tmp_path: Path
):
    """Room keys travel through the to_device extension, device lists through e2ee."""
    alice_nio = await register(server, "alice")
    await alice_nio.close()
    alice_id = alice_nio.user_id
    bob = await registered_e2ee_client(server, tmp_path / "bob")
    bob_phone: nio.AsyncClient | None = None
    try:
        await sliding_login(js, server, "alice", alice_id)
        room_id = await js.call("createRoom", name="alice", invite=[bob.user_id], encrypted=True)
        for _ in range(60):
            response = ok(await bob.sync(timeout=500), nio.SyncResponse, "/sync")
            if room_id in response.rooms.invite:
                break
        else:
            pytest.fail("bob never saw the invite")
        ok(await bob.join(room_id), nio.JoinResponse, "POST /join")
        await js.call("waitForMember", name="alice", roomId=room_id, userId=bob.user_id)

        from_js = "Bonjour Bob, par sliding sync 🔐"
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
        messages = await js.call("roomMessages", name="alice", roomId=room_id)
        assert [m["body"] for m in messages] == [from_js, from_nio]

        # Bob's new device reaches the js-sdk as an e2ee device_lists change, and gets the key.
        bob_phone = e2ee_nio_client(server, tmp_path / "bob_phone")
        bob_phone.user = bob.user_id
        ok(await bob_phone.login(PASSWORD, device_name="phone"), nio.LoginResponse, "login")
        ok(await bob_phone.sync(timeout=0, full_state=True), nio.SyncResponse, "initial /sync")
        await nio_keys_round(bob_phone)
        await js.call(
            "waitForDevice", name="alice", userId=bob.user_id, deviceId=bob_phone.device_id
        )
        to_phone = "Et pour ton téléphone"
        await js.call("send", name="alice", roomId=room_id, body=to_phone)
        got = await nio_sync_until_text(bob_phone, room_id, to_phone)
        assert got.decrypted and got.sender == alice_id

        stored = await raw_messages(server, bob.access_token, room_id)
        assert [e["type"] for e in stored] == ["m.room.encrypted"] * 3
        assert not any(text in str(stored) for text in (from_js, from_nio, to_phone))
    finally:
        await bob.close()
        if bob_phone is not None:
            await bob_phone.close()


async def test_after_a_server_restart_the_client_starts_over_and_e2ee_carries_on(
    make_server: ServerFactory, js: JsDriver, tmp_path: Path
):
    """Connections live in memory: the old ``pos`` is M_UNKNOWN_POS and the client starts over.

    The to_device ``since`` outlives the connection: a new room key after the restart arrives.
    """
    server = make_server()
    alice_nio = await register(server, "alice")
    await alice_nio.close()
    bob = await registered_e2ee_client(server, tmp_path / "bob")
    try:
        await sliding_login(js, server, "alice", alice_nio.user_id)
        room_id = await js.call("createRoom", name="alice", invite=[bob.user_id], encrypted=True)
        for _ in range(60):
            if room_id in ok(await bob.sync(timeout=500), nio.SyncResponse, "/sync").rooms.invite:
                break
        else:
            pytest.fail("bob never saw the invite")
        ok(await bob.join(room_id), nio.JoinResponse, "POST /join")
        await js.call("waitForMember", name="alice", roomId=room_id, userId=bob.user_id)
        await js.call("send", name="alice", roomId=room_id, body="avant")
        await nio_sync_until_text(bob, room_id, "avant")

        server.stop()
        server.start()
        before = (await js.call("responses", name="alice"))["responses"]
        second = ok(
            await bob.room_create(name="Après", invite=[alice_nio.user_id]),
            nio.RoomCreateResponse,
            "POST /createRoom",
        ).room_id
        await js.call("waitForRoom", name="alice", roomId=second, membership="invite")
        # A new megolm session: its key can only reach alice as a to-device message.
        bob.olm.outbound_group_sessions.pop(room_id, None)
        await bob.joined_members(room_id)
        await nio_keys_round(bob)
        ok(
            await bob.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": "après, de nio"},
                ignore_unverified_devices=True,
            ),
            nio.RoomSendResponse,
            "PUT send (encrypted)",
        )
        seen = await js.call("waitForMessage", name="alice", roomId=room_id, body="après, de nio")
        assert seen["encrypted"] is True and seen["failure"] is None
        await js.call("send", name="alice", roomId=room_id, body="après, de js")
        got = await nio_sync_until_text(bob, room_id, "après, de js")
        assert got.decrypted and got.sender == alice_nio.user_id
        await js.call("waitForRoomOrder", name="alice", order=[room_id, second], count=2)

        after = await js.call("responses", name="alice")
        assert after["responses"] > before
        # The client treats any 400 as "start over": the old position was refused as unknown.
        assert "M_UNKNOWN_POS" in after["errors"], after["errors"]
        # Starting over repeated nothing the client already had.
        shown = await js.call("roomMessages", name="alice", roomId=room_id)
        assert [m["body"] for m in shown] == ["avant", "après, de nio", "après, de js"]
    finally:
        await bob.close()
