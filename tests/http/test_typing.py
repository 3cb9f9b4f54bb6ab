"""Typing notifications: PUT /rooms/{roomId}/typing/{userId} and m.typing in /sync."""

import asyncio


async def _shared_room(alice, bob):
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    return room


def _typing(sync, room):
    events = sync.get("rooms", {}).get("join", {}).get(room, {}).get("ephemeral", {})
    found = [e for e in events.get("events", []) if e["type"] == "m.typing"]
    return found[-1]["content"]["user_ids"] if found else None


async def test_typing_shows_in_initial_and_incremental_sync(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await alice.ok("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True})
    assert _typing(await bob.ok("GET", f"/sync?since={token}"), room) == [alice.user_id]
    assert _typing(await bob.ok("GET", "/sync"), room) == [alice.user_id]


async def test_stopping_typing_sends_an_empty_list_once(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await alice.ok(
        "PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True, "timeout": 30000}
    )
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await alice.ok("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": False})
    stopped = await bob.ok("GET", f"/sync?since={token}")
    assert _typing(stopped, room) == []
    again = await bob.ok("GET", f"/sync?since={stopped['next_batch']}")
    assert _typing(again, room) is None


async def test_refreshing_typing_does_not_report_a_change(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await alice.ok("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True})
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await alice.ok("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True})
    assert _typing(await bob.ok("GET", f"/sync?since={token}"), room) is None


async def test_long_poll_wakes_when_someone_starts_typing(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(bob.ok("GET", f"/sync?since={token}&timeout=20000"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await alice.ok("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True})
    result = await asyncio.wait_for(poll, 5)
    assert _typing(result, room) == [alice.user_id]


async def test_long_poll_sees_typing_expire_after_its_timeout(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await alice.ok(
        "PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True, "timeout": 300}
    )
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    result = await asyncio.wait_for(bob.ok("GET", f"/sync?since={token}&timeout=20000"), 5)
    assert _typing(result, room) == []


async def test_typing_in_another_room_does_not_wake_a_long_poll(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await _shared_room(alice, bob)
    other = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(bob.ok("GET", f"/sync?since={token}&timeout=1000"))
    await asyncio.sleep(0.2)
    waiter = next(iter(services.notifier._by_user[bob.user_id]))
    await alice.ok("PUT", f"/rooms/{other}/typing/{alice.user_id}", json={"typing": True})
    await asyncio.sleep(0.05)
    assert not waiter.woken
    result = await asyncio.wait_for(poll, 5)
    assert "rooms" not in result


async def test_typing_for_someone_else_or_outside_the_room_is_forbidden(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    other = await bob.request("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True})
    assert other.status_code == 403
    outside = await bob.request("PUT", f"/rooms/{room}/typing/{bob.user_id}", json={"typing": True})
    assert outside.status_code == 403
    assert outside.json()["errcode"] == "M_FORBIDDEN"


async def test_typing_without_the_typing_field_is_rejected(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    response = await alice.request("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={})
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_MISSING_PARAM"


async def test_leaving_the_room_stops_typing(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await bob.ok("PUT", f"/rooms/{room}/typing/{bob.user_id}", json={"typing": True})
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    assert services.typing.typing_users(room) == []
