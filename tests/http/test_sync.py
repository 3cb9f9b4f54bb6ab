"""/sync over HTTP: initial and incremental syncs, long-polling, filters."""

import asyncio
import json


async def test_initial_sync_has_joined_room_with_state_and_timeline(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Salon"}))["room_id"]
    await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/1", json={"body": "un", "msgtype": "m.text"}
    )
    sync = await alice.ok("GET", "/sync")
    joined = sync["rooms"]["join"][room]
    assert joined["timeline"]["events"][-1]["content"]["body"] == "un"
    types = {e["type"] for e in joined["state"]["events"]} | {
        e["type"] for e in joined["timeline"]["events"]
    }
    assert {"m.room.create", "m.room.name", "m.room.member"} <= types
    assert sync["next_batch"]


async def test_incremental_sync_returns_only_new_events(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    first = await alice.ok("GET", "/sync")
    await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/2", json={"body": "deux", "msgtype": "m.text"}
    )
    second = await alice.ok("GET", f"/sync?since={first['next_batch']}")
    events = second["rooms"]["join"][room]["timeline"]["events"]
    assert [e["content"]["body"] for e in events] == ["deux"]
    assert second["rooms"]["join"][room]["timeline"]["limited"] is False
    third = await alice.ok("GET", f"/sync?since={second['next_batch']}")
    assert "rooms" not in third or room not in third["rooms"].get("join", {})


async def test_limited_timeline_sets_prev_batch_usable_with_messages(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    first = await alice.ok("GET", "/sync")
    for i in range(15):
        await alice.ok(
            "PUT",
            f"/rooms/{room}/send/m.room.message/x{i}",
            json={"body": str(i), "msgtype": "m.text"},
        )
    flt = json.dumps({"room": {"timeline": {"limit": 5}}})
    second = await alice.ok("GET", "/sync", params={"since": first["next_batch"], "filter": flt})
    timeline = second["rooms"]["join"][room]["timeline"]
    assert timeline["limited"] is True
    assert [e["content"]["body"] for e in timeline["events"]] == ["10", "11", "12", "13", "14"]
    older = await alice.ok(
        "GET",
        f"/rooms/{room}/messages",
        params={"dir": "b", "from": timeline["prev_batch"], "limit": 3},
    )
    assert [e["content"]["body"] for e in older["chunk"]] == ["9", "8", "7"]


async def test_long_poll_wakes_on_message_in_room(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(bob.ok("GET", f"/sync?since={token}&timeout=20000"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/w", json={"body": "réveil", "msgtype": "m.text"}
    )
    result = await asyncio.wait_for(poll, 5)
    assert result["rooms"]["join"][room]["timeline"]["events"][-1]["content"]["body"] == "réveil"


async def test_long_poll_at_the_current_token_computes_nothing_until_woken(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    computed: list[str] = []

    async def counting(ctx) -> bool:
        computed.append(ctx.user_id)
        return False

    services.sync.sections.append(counting)
    poll = asyncio.create_task(bob.ok("GET", f"/sync?since={token}&timeout=20000"))
    for _ in range(200):
        if services.notifier.waiting_count():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert computed == []
    await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/n", json={"body": "du neuf", "msgtype": "m.text"}
    )
    result = await asyncio.wait_for(poll, 5)
    assert result["rooms"]["join"][room]["timeline"]["events"][-1]["content"]["body"] == "du neuf"
    assert computed == [bob.user_id]
    # Timing out at the current token still answers with every section's part.
    empty = await bob.ok("GET", f"/sync?since={result['next_batch']}&timeout=50")
    assert computed == [bob.user_id, bob.user_id]
    assert empty["next_batch"] == result["next_batch"]
    assert "device_one_time_keys_count" in empty


async def test_long_poll_is_not_woken_by_other_rooms(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await alice.ok("POST", "/createRoom", json={})
    other = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(bob.ok("GET", f"/sync?since={token}&timeout=1500"))
    await asyncio.sleep(0.2)
    waiter = next(iter(services.notifier._by_user[bob.user_id]))
    await alice.ok(
        "PUT", f"/rooms/{other}/send/m.room.message/z", json={"body": "x", "msgtype": "m.text"}
    )
    await asyncio.sleep(0.1)
    assert not waiter.woken
    result = await asyncio.wait_for(poll, 5)
    assert "rooms" not in result


async def test_invite_appears_then_join_moves_room(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    room = (
        await alice.ok("POST", "/createRoom", json={"invite": [bob.user_id], "name": "Invitation"})
    )["room_id"]
    invited = await bob.ok("GET", f"/sync?since={token}")
    stripped = invited["rooms"]["invite"][room]["invite_state"]["events"]
    assert any(e["type"] == "m.room.name" for e in stripped)
    await bob.ok("POST", f"/join/{room}", json={})
    joined = await bob.ok("GET", f"/sync?since={invited['next_batch']}")
    assert room in joined["rooms"]["join"]
    assert any(
        e["type"] == "m.room.create"
        for e in joined["rooms"]["join"][room]["state"]["events"]
        + joined["rooms"]["join"][room]["timeline"]["events"]
    )


async def test_leave_appears_in_incremental_sync(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await alice.ok("POST", f"/rooms/{room}/leave", json={})
    result = await alice.ok("GET", f"/sync?since={token}")
    assert room in result["rooms"]["leave"]


async def test_lazy_loading_only_sends_members_of_timeline_senders(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    others = [await user_factory(f"u{i}") for i in range(4)]
    for other in others:
        await other.ok("POST", f"/join/{room}", json={})
    await others[0].ok(
        "PUT", f"/rooms/{room}/send/m.room.message/1", json={"body": "x", "msgtype": "m.text"}
    )
    flt = json.dumps({"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 1}}})
    result = await alice.ok("GET", "/sync", params={"filter": flt})
    members = {
        e["state_key"]
        for e in result["rooms"]["join"][room]["state"]["events"]
        if e["type"] == "m.room.member"
    }
    assert members == {alice.user_id, others[0].user_id}
    assert result["rooms"]["join"][room]["summary"]["m.joined_member_count"] == 5


async def test_stored_filter_round_trip_and_use(user_factory):
    alice = await user_factory("alice")
    body = {"room": {"timeline": {"limit": 2}}}
    created = await alice.ok("POST", f"/user/{alice.user_id}/filter", json=body)
    fetched = await alice.ok("GET", f"/user/{alice.user_id}/filter/{created['filter_id']}")
    assert fetched == body
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    result = await alice.ok("GET", f"/sync?filter={created['filter_id']}")
    assert len(result["rooms"]["join"][room]["timeline"]["events"]) == 2


async def test_bad_since_token_is_invalid_param(user_factory):
    alice = await user_factory("alice")
    response = await alice.request("GET", "/sync?since=garbage")
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_incremental_sync_from_before_a_redaction_shows_the_event_redacted(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    first = await alice.ok("GET", "/sync")
    sent = await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/r1", json={"body": "oups", "msgtype": "m.text"}
    )
    # Seen once, so the room's newest events are now held in memory...
    seen = await alice.ok("GET", f"/sync?since={first['next_batch']}")
    assert seen["rooms"]["join"][room]["timeline"]["events"][0]["content"]["body"] == "oups"
    await alice.ok("PUT", f"/rooms/{room}/redact/{sent['event_id']}/r2", json={})
    # ...and a client replaying the old token must not get the unredacted copy.
    again = await alice.ok("GET", f"/sync?since={first['next_batch']}")
    events = again["rooms"]["join"][room]["timeline"]["events"]
    target = next(e for e in events if e["event_id"] == sent["event_id"])
    assert target["content"] == {}
    assert target["unsigned"]["redacted_because"]["type"] == "m.room.redaction"
