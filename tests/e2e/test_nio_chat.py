"""matrix-nio, an unmodified client from PyPI, chats through the real server process.

Every test runs twice: against a server on SQLite and one on PostgreSQL. Rooms
are unencrypted (the server runs with ``encryption.encrypt_new_rooms: off``).
"""

import asyncio
import time

import nio
import pytest

from tests.e2e.nio_helpers import (
    PASSWORD,
    close_all,
    ephemeral,
    initial_sync,
    new_client,
    ok,
    register,
    send_text,
    shared_room,
    sync_until,
    timeline,
)
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e


async def test_two_users_register_log_in_create_invite_join_and_chat(server: ServerProcess):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    # A second device for alice, through /login with her password.
    alice_phone = new_client(server, alice.user_id)
    try:
        login = ok(
            await alice_phone.login(PASSWORD, device_name="phone"), nio.LoginResponse, "login"
        )
        assert login.user_id == alice.user_id
        assert login.device_id != alice.device_id

        await initial_sync(bob)
        created = ok(
            await alice.room_create(name="Cabinet", topic="Réunion", invite=[bob.user_id]),
            nio.RoomCreateResponse,
            "createRoom",
        )
        room_id = created.room_id
        invited = await sync_until(
            bob, lambda r: room_id in r.rooms.invite, "bob's invite to the room"
        )
        invite_state = invited.rooms.invite[room_id].invite_state
        assert any(getattr(e, "name", None) == "Cabinet" for e in invite_state)

        ok(await bob.join(room_id), nio.JoinResponse, "join")
        joined = ok(await bob.joined_rooms(), nio.JoinedRoomsResponse, "joined_rooms")
        assert room_id in joined.rooms

        await initial_sync(alice_phone)
        hello = await send_text(alice, room_id, "Bonjour Bob ✨")
        got = await sync_until(
            bob, lambda r: any(e["event_id"] == hello for e in timeline(r, room_id)), "hello"
        )
        event = next(e for e in timeline(got, room_id) if e["event_id"] == hello)
        assert event["sender"] == alice.user_id
        assert event["content"] == {"msgtype": "m.text", "body": "Bonjour Bob ✨"}

        reply = await send_text(bob, room_id, "Salut Alice")
        # alice's other device sees both messages, in order, through since tokens.
        seen: list[str] = []
        await sync_until(
            alice_phone,
            lambda r: (
                bool(seen.extend(e["event_id"] for e in timeline(r, room_id))) or reply in seen
            ),
            "bob's reply on alice's phone",
        )
        assert seen.index(hello) < seen.index(reply)
        # A sync from the newest token carries nothing old again.
        quiet = ok(await alice_phone.sync(timeout=0), nio.SyncResponse, "sync")
        assert not {e["event_id"] for e in timeline(quiet, room_id)} & {hello, reply}
    finally:
        await close_all(alice, bob, alice_phone)


async def test_paginating_history_backwards_and_forwards_returns_every_message(
    server: ServerProcess,
):
    alice = await register(server, "alice")
    try:
        room_id = await shared_room(alice)
        sent = [await send_text(alice, room_id, f"message {i}") for i in range(25)]

        backwards: list[str] = []
        token = None
        for _page in range(10):
            page = ok(
                await alice.room_messages(room_id, start=token, limit=10),
                nio.RoomMessagesResponse,
                "messages (dir=b)",
            )
            backwards.extend(e.event_id for e in page.chunk if e.source["type"] == "m.room.message")
            if not page.end or not page.chunk:
                break
            token = page.end
        assert backwards == list(reversed(sent))

        forwards: list[str] = []
        first = ok(
            await alice.room_messages(
                room_id, start=token, direction=nio.MessageDirection.front, limit=7
            ),
            nio.RoomMessagesResponse,
            "messages (dir=f)",
        )
        forwards.extend(e.event_id for e in first.chunk)
        token = first.end
        while token:
            page = ok(
                await alice.room_messages(
                    room_id, start=token, direction=nio.MessageDirection.front, limit=7
                ),
                nio.RoomMessagesResponse,
                "messages (dir=f)",
            )
            if not page.chunk:
                break
            forwards.extend(e.event_id for e in page.chunk)
            token = page.end
        assert [e for e in forwards if e in sent] == sent
    finally:
        await alice.close()


async def test_redaction_edit_and_reaction_reach_the_other_user(server: ServerProcess):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        room_id = await shared_room(alice, bob)
        await initial_sync(bob)
        original = await send_text(alice, room_id, "Réunion à 10h")
        secret = await send_text(alice, room_id, "mot de passe: hunter2")

        ok(
            await alice.room_redact(room_id, secret, reason="oops"),
            nio.RoomRedactResponse,
            "redact",
        )
        edit = ok(
            await alice.room_send(
                room_id,
                "m.room.message",
                {
                    "msgtype": "m.text",
                    "body": "* Réunion à 11h",
                    "m.new_content": {"msgtype": "m.text", "body": "Réunion à 11h"},
                    "m.relates_to": {"rel_type": "m.replace", "event_id": original},
                },
            ),
            nio.RoomSendResponse,
            "send edit",
        ).event_id
        reaction = ok(
            await bob.room_send(
                room_id,
                "m.reaction",
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": original, "key": "👍"}},
            ),
            nio.RoomSendResponse,
            "send reaction",
        ).event_id

        events: dict[str, dict] = {}
        await sync_until(
            bob,
            lambda r: (
                bool(events.update({e["event_id"]: e for e in timeline(r, room_id)}))
                or edit in events
            ),
            "alice's edit",
        )
        assert events[edit]["content"]["m.relates_to"] == {
            "rel_type": "m.replace",
            "event_id": original,
        }
        assert events[edit]["content"]["m.new_content"]["body"] == "Réunion à 11h"

        # The redacted message has lost its content, wherever it is read from.
        history = ok(
            await bob.room_messages(room_id, limit=50), nio.RoomMessagesResponse, "messages"
        )
        by_id = {e.event_id: e.source for e in history.chunk}
        assert by_id[secret]["content"] == {}
        because = by_id[secret]["unsigned"]["redacted_because"]
        assert because.get("redacts") == secret or (because["content"].get("redacts") == secret)
        assert by_id[reaction]["content"]["m.relates_to"]["key"] == "👍"
        # The original carries the edit as a bundled aggregation.
        fetched = ok(await bob.room_get_event(room_id, original), nio.RoomGetEventResponse, "event")
        relations = fetched.event.source.get("unsigned", {}).get("m.relations", {})
        assert relations.get("m.replace", {}).get("event_id") == edit
    finally:
        await close_all(alice, bob)


async def test_typing_notification_is_seen_by_the_other_user(server: ServerProcess):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        room_id = await shared_room(alice, bob)
        await initial_sync(bob)

        def typing_users(response: nio.SyncResponse) -> list[str] | None:
            for event in ephemeral(response, room_id):
                if isinstance(event, nio.TypingNoticeEvent):
                    return list(event.users)
            return None

        ok(await alice.room_typing(room_id, True, 30_000), nio.RoomTypingResponse, "typing")
        await sync_until(
            bob, lambda r: alice.user_id in (typing_users(r) or []), "alice typing (on)"
        )
        ok(await alice.room_typing(room_id, False), nio.RoomTypingResponse, "typing")
        await sync_until(bob, lambda r: typing_users(r) == [], "alice typing (off)")
    finally:
        await close_all(alice, bob)


async def test_read_receipts_and_read_markers_are_seen_by_the_sender(server: ServerProcess):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        room_id = await shared_room(alice, bob)
        first = await send_text(alice, room_id, "first")
        second = await send_text(alice, room_id, "second")
        await initial_sync(alice)

        def read_by_bob(response: nio.SyncResponse) -> set[str]:
            return {
                receipt.event_id
                for event in ephemeral(response, room_id)
                if isinstance(event, nio.ReceiptEvent)
                for receipt in event.receipts
                if receipt.user_id == bob.user_id and receipt.receipt_type == "m.read"
            }

        ok(
            await bob.update_receipt_marker(room_id, first),
            nio.UpdateReceiptMarkerResponse,
            "receipt",
        )
        await sync_until(alice, lambda r: first in read_by_bob(r), "bob's receipt on 'first'")
        ok(
            await bob.room_read_markers(room_id, fully_read_event=second, read_event=second),
            nio.RoomReadMarkersResponse,
            "read_markers",
        )
        await sync_until(alice, lambda r: second in read_by_bob(r), "bob's receipt on 'second'")

        # The fully-read marker is bob's own room account data.
        await initial_sync(bob)
        markers = await sync_until(
            bob,
            lambda r: True,
            "bob's sync",
            full_state=True,
        )
        room = markers.rooms.join[room_id]
        fully_read = [e.event_id for e in room.account_data if isinstance(e, nio.FullyReadEvent)]
        assert fully_read == [second]
    finally:
        await close_all(alice, bob)


async def test_presence_set_by_one_user_is_seen_by_the_other(server: ServerProcess):
    alice = await register(server, "alice")
    bob = await register(server, "bob")
    try:
        await shared_room(alice, bob)
        await initial_sync(bob)

        def alice_presence(response: nio.SyncResponse) -> list[nio.PresenceEvent]:
            return [e for e in response.presence_events if e.user_id == alice.user_id]

        ok(
            await alice.set_presence("online", "En réunion"),
            nio.PresenceSetResponse,
            "PUT presence",
        )
        seen = await sync_until(
            bob,
            lambda r: any(e.presence == "online" for e in alice_presence(r)),
            "alice online",
        )
        assert alice_presence(seen)[-1].status_msg == "En réunion"
        got = ok(await bob.get_presence(alice.user_id), nio.PresenceGetResponse, "GET presence")
        assert got.presence == "online"
        assert got.status_msg == "En réunion"

        # set_presence on /sync itself also updates what others see.
        ok(await alice.sync(timeout=0, set_presence="unavailable"), nio.SyncResponse, "sync")
        await sync_until(
            bob,
            lambda r: any(e.presence == "unavailable" for e in alice_presence(r)),
            "alice unavailable",
        )
    finally:
        await close_all(alice, bob)


def is_empty(response: nio.SyncResponse) -> bool:
    """Nothing at all for the client: a sync that returned this woke up for no reason."""
    rooms = response.rooms
    return not (
        rooms.join
        or rooms.invite
        or rooms.leave
        or response.presence_events
        or response.to_device_events
        or response.account_data_events
        or response.device_list.changed
        or response.device_list.left
    )


async def test_a_waiting_sync_wakes_for_a_message_and_not_for_other_rooms(
    server: ServerProcess,
):
    alice = await register(server, "alice")
    carol = await register(server, "carol")
    try:
        room_id = await shared_room(alice, carol)
        elsewhere = await shared_room(alice, name="carol is not here")
        await initial_sync(carol)
        # Drain anything still pending (joins, presence) so the next sync has to wait.
        ok(await carol.sync(timeout=0), nio.SyncResponse, "sync")

        started = time.monotonic()
        waiting = asyncio.create_task(carol.sync(timeout=30_000))
        await asyncio.sleep(0.5)
        await send_text(alice, elsewhere, "not for carol")
        await asyncio.sleep(0.5)
        message = await send_text(alice, room_id, "wake up, carol")
        while True:
            response = ok(await waiting, nio.SyncResponse, "long-poll sync")
            assert elsewhere not in response.rooms.join
            if message in {e["event_id"] for e in timeline(response, room_id)}:
                break
            # It may wake for something of carol's own (her presence, say), never for nothing.
            assert not is_empty(response), "the long-poll woke up with nothing for carol"
            waiting = asyncio.create_task(carol.sync(timeout=30_000))
        elapsed = time.monotonic() - started
        # Well before the 30 s timeout: it woke on the message, it did not time out.
        assert elapsed < 10, f"the long-poll returned after {elapsed:.1f}s"
    finally:
        await close_all(alice, carol)
