"""Device-list tracking: every transition that must make clients re-query keys."""

from tests.http.test_keys_helpers import upload_device


async def _login(client, localpart):
    response = await client.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": "correct horse battery",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _shared_room(alice, *others):
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    for other in others:
        await other.ok("POST", f"/join/{room}", json={})
    return room


def _lists(sync):
    return sync.get("device_lists", {"changed": [], "left": []})


async def test_key_upload_shows_in_changed_for_room_members_and_self(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")  # shares no room with alice
    await _shared_room(alice, bob)
    tokens = {u.user_id: (await u.ok("GET", "/sync"))["next_batch"] for u in (alice, bob, carol)}
    await upload_device(alice)
    for user in (alice, bob):
        sync = await user.ok("GET", f"/sync?since={tokens[user.user_id]}")
        assert alice.user_id in _lists(sync)["changed"], user.user_id
    carol_sync = await carol.ok("GET", f"/sync?since={tokens[carol.user_id]}")
    assert alice.user_id not in _lists(carol_sync)["changed"]


async def test_one_time_key_upload_alone_is_not_a_device_list_change(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await _shared_room(alice, bob)
    device = await upload_device(alice)
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await alice.ok("POST", "/keys/upload", json={"one_time_keys": device.one_time_keys(3)})
    sync = await bob.ok("GET", f"/sync?since={token}")
    assert alice.user_id not in _lists(sync)["changed"]


async def test_new_login_and_logout_show_in_changed(register, client):
    alice = await register("alice")
    bob = await register("bob")
    await _shared_room(alice, bob)
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    other = await _login(client, "alice")
    sync = await bob.ok("GET", f"/sync?since={token}")
    assert alice.user_id in _lists(sync)["changed"]
    await client.post(
        "/_matrix/client/v3/logout",
        headers={"Authorization": f"Bearer {other['access_token']}"},
        json={},
    )
    after = await bob.ok("GET", f"/sync?since={sync['next_batch']}")
    assert alice.user_id in _lists(after)["changed"]


async def test_device_deletion_shows_in_changed(register, client):
    alice = await register("alice")
    bob = await register("bob")
    await _shared_room(alice, bob)
    other = await _login(client, "alice")
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    body = {
        "auth": {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": "correct horse battery",
        }
    }
    await alice.ok("DELETE", f"/devices/{other['device_id']}", json=body)
    sync = await bob.ok("GET", f"/sync?since={token}")
    assert alice.user_id in _lists(sync)["changed"]
    keys = await bob.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    assert other["device_id"] not in keys["device_keys"][alice.user_id]


async def test_joining_a_room_makes_both_sides_appear_in_changed(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    alice_token = (await alice.ok("GET", "/sync"))["next_batch"]
    bob_token = (await bob.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/join/{room}", json={})
    alice_sync = await alice.ok("GET", f"/sync?since={alice_token}")
    bob_sync = await bob.ok("GET", f"/sync?since={bob_token}")
    assert bob.user_id in _lists(alice_sync)["changed"]
    assert alice.user_id in _lists(bob_sync)["changed"]


async def test_invited_user_accepting_appears_in_changed(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"invite": [bob.user_id]}))["room_id"]
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/join/{room}", json={})
    sync = await alice.ok("GET", f"/sync?since={token}")
    assert bob.user_id in _lists(sync)["changed"]


async def test_leave_puts_user_in_left_for_both_sides(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    alice_token = (await alice.ok("GET", "/sync"))["next_batch"]
    bob_token = (await bob.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    alice_sync = await alice.ok("GET", f"/sync?since={alice_token}")
    bob_sync = await bob.ok("GET", f"/sync?since={bob_token}")
    assert bob.user_id in _lists(alice_sync)["left"]
    assert alice.user_id in _lists(bob_sync)["left"]
    assert bob.user_id not in _lists(alice_sync)["changed"]


async def test_leaving_one_of_two_shared_rooms_is_not_left(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await _shared_room(alice, bob)
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    sync = await alice.ok("GET", f"/sync?since={token}")
    assert bob.user_id not in _lists(sync)["left"]


async def test_kick_and_ban_put_user_in_left(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = await _shared_room(alice, bob, carol)
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await alice.ok("POST", f"/rooms/{room}/kick", json={"user_id": bob.user_id})
    await alice.ok("POST", f"/rooms/{room}/ban", json={"user_id": carol.user_id})
    sync = await alice.ok("GET", f"/sync?since={token}")
    assert set(_lists(sync)["left"]) >= {bob.user_id, carol.user_id}


async def test_keys_changes_between_two_tokens(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    start = (await alice.ok("GET", "/sync"))["next_batch"]
    await upload_device(bob)
    middle = (await alice.ok("GET", f"/sync?since={start}"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    end = (await alice.ok("GET", f"/sync?since={middle}"))["next_batch"]
    first = await alice.ok("GET", f"/keys/changes?from={start}&to={middle}")
    assert first == {"changed": [bob.user_id], "left": []}
    second = await alice.ok("GET", f"/keys/changes?from={middle}&to={end}")
    assert second["left"] == [bob.user_id]
    missing = await alice.request("GET", f"/keys/changes?from={start}")
    assert missing.status_code == 400


async def test_initial_sync_has_no_device_lists(user_factory):
    alice = await user_factory("alice")
    await upload_device(alice)
    assert "device_lists" not in await alice.ok("GET", "/sync")


async def test_long_poll_returns_when_a_room_member_uploads_keys(user_factory):
    import asyncio

    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await _shared_room(alice, bob)
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(bob.ok("GET", f"/sync?since={token}&timeout=10000"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await upload_device(alice)
    result = await asyncio.wait_for(poll, 5)
    assert alice.user_id in _lists(result)["changed"]
