"""Read receipts, read markers and m.receipt in /sync."""

import asyncio


async def _shared_room(alice, bob):
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    return room


async def _send(user, room, body, txn):
    return (
        await user.ok(
            "PUT",
            f"/rooms/{room}/send/m.room.message/{txn}",
            json={"msgtype": "m.text", "body": body},
        )
    )["event_id"]


def _receipts(sync, room):
    ephemeral = sync.get("rooms", {}).get("join", {}).get(room, {}).get("ephemeral", {})
    return [e["content"] for e in ephemeral.get("events", []) if e["type"] == "m.receipt"]


async def test_read_receipt_reaches_other_members_incrementally(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, "lu ?", "1")
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json={})
    receipts = _receipts(await alice.ok("GET", f"/sync?since={token}"), room)
    assert len(receipts) == 1
    entry = receipts[0][event_id]["m.read"][bob.user_id]
    assert isinstance(entry["ts"], int)
    assert "thread_id" not in entry


async def test_initial_sync_carries_the_latest_receipts(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    first = await _send(alice, room, "un", "1")
    second = await _send(alice, room, "deux", "2")
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{first}", json={})
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{second}", json={})
    merged: dict = {}
    for content in _receipts(await alice.ok("GET", "/sync"), room):
        merged.update(content)
    assert bob.user_id in merged[second]["m.read"]
    assert first not in merged


async def test_receipt_does_not_move_backwards(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    first = await _send(alice, room, "un", "1")
    second = await _send(alice, room, "deux", "2")
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{second}", json={})
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{first}", json={})
    assert _receipts(await alice.ok("GET", f"/sync?since={token}"), room) == []


async def test_private_receipt_is_only_seen_by_its_owner(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, "secret", "1")
    alice_token = (await alice.ok("GET", "/sync"))["next_batch"]
    bob_token = (await bob.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read.private/{event_id}", json={})
    assert _receipts(await alice.ok("GET", f"/sync?since={alice_token}"), room) == []
    own = _receipts(await bob.ok("GET", f"/sync?since={bob_token}"), room)
    assert bob.user_id in own[0][event_id]["m.read.private"]


async def test_threaded_receipt_carries_its_thread_id(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, "racine", "1")
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json={"thread_id": "main"})
    receipts = _receipts(await alice.ok("GET", f"/sync?since={token}"), room)
    assert receipts[0][event_id]["m.read"][bob.user_id]["thread_id"] == "main"


async def test_bad_thread_ids_and_receipt_types_are_rejected(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    event_id = await _send(alice, room, "x", "1")
    cases = [
        ("m.read", {"thread_id": ""}),
        ("m.read", {"thread_id": 5}),
        ("m.read", {"thread_id": "not-an-event"}),
        ("m.fully_read", {"thread_id": "main"}),
        ("m.unknown", {}),
    ]
    for receipt_type, body in cases:
        response = await alice.request(
            "POST", f"/rooms/{room}/receipt/{receipt_type}/{event_id}", json=body
        )
        assert response.status_code == 400, (receipt_type, body, response.text)


async def test_receipt_for_unknown_event_or_room_outsider_fails(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    event_id = await _send(alice, room, "x", "1")
    unknown = await alice.request("POST", f"/rooms/{room}/receipt/m.read/$nope", json={})
    assert unknown.status_code == 404
    outsider = await bob.request("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json={})
    assert outsider.status_code == 403


async def test_fully_read_receipt_is_room_account_data(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    event_id = await _send(alice, room, "x", "1")
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await alice.ok("POST", f"/rooms/{room}/receipt/m.fully_read/{event_id}", json={})
    sync = await alice.ok("GET", f"/sync?since={token}")
    events = sync["rooms"]["join"][room]["account_data"]["events"]
    assert {"type": "m.fully_read", "content": {"event_id": event_id}} in events
    stored = await alice.ok("GET", f"/user/{alice.user_id}/rooms/{room}/account_data/m.fully_read")
    assert stored == {"event_id": event_id}


async def test_read_markers_set_marker_and_receipts_together(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, "x", "1")
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await bob.ok(
        "POST",
        f"/rooms/{room}/read_markers",
        json={"m.fully_read": event_id, "m.read": event_id, "m.read.private": event_id},
    )
    sync = await bob.ok("GET", f"/sync?since={token}")
    entry = sync["rooms"]["join"][room]
    assert {"type": "m.fully_read", "content": {"event_id": event_id}} in entry["account_data"][
        "events"
    ]
    merged: dict = {}
    for content in _receipts(sync, room):
        for eid, by_type in content.items():
            merged.setdefault(eid, {}).update(by_type)
    assert set(merged[event_id]) == {"m.read", "m.read.private"}


async def test_read_markers_reject_non_event_ids(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    response = await alice.request("POST", f"/rooms/{room}/read_markers", json={"m.read": 12})
    assert response.status_code == 400


async def test_long_poll_wakes_on_a_receipt_in_the_room(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, "lu ?", "1")
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(alice.ok("GET", f"/sync?since={token}&timeout=20000"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json={})
    result = await asyncio.wait_for(poll, 5)
    assert bob.user_id in _receipts(result, room)[0][event_id]["m.read"]


async def test_private_receipt_does_not_wake_other_members(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, "x", "1")
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(alice.ok("GET", f"/sync?since={token}&timeout=1000"))
    await asyncio.sleep(0.2)
    waiter = next(iter(services.notifier._by_user[alice.user_id]))
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read.private/{event_id}", json={})
    await asyncio.sleep(0.05)
    assert not waiter.woken
    result = await asyncio.wait_for(poll, 5)
    assert _receipts(result, room) == []


async def test_joining_a_room_brings_its_existing_receipts(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, "x", "1")
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json={})
    await alice.ok("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True})
    token = (await carol.ok("GET", "/sync"))["next_batch"]
    await carol.ok("POST", f"/join/{room}", json={})
    result = await carol.ok("GET", f"/sync?since={token}")
    assert bob.user_id in _receipts(result, room)[0][event_id]["m.read"]
    events = result["rooms"]["join"][room]["ephemeral"]["events"]
    typing = [e for e in events if e["type"] == "m.typing"]
    assert typing[0]["content"]["user_ids"] == [alice.user_id]
