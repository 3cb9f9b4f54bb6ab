"""Account data (global and per room), room tags, and their /sync sections."""

import asyncio


def _global(sync):
    return {e["type"]: e["content"] for e in sync.get("account_data", {}).get("events", [])}


def _room(sync, room):
    entry = sync.get("rooms", {}).get("join", {}).get(room, {})
    return {e["type"]: e["content"] for e in entry.get("account_data", {}).get("events", [])}


async def test_global_account_data_round_trip_and_sync(user_factory):
    alice = await user_factory("alice")
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    path = f"/user/{alice.user_id}/account_data/org.example.settings"
    await alice.ok("PUT", path, json={"theme": "sombre"})
    assert await alice.ok("GET", path) == {"theme": "sombre"}
    incremental = await alice.ok("GET", f"/sync?since={token}")
    assert _global(incremental)["org.example.settings"] == {"theme": "sombre"}
    quiet = await alice.ok("GET", f"/sync?since={incremental['next_batch']}")
    assert "org.example.settings" not in _global(quiet)
    assert _global(await alice.ok("GET", "/sync"))["org.example.settings"] == {"theme": "sombre"}


async def test_room_account_data_round_trip_and_sync(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    path = f"/user/{alice.user_id}/rooms/{room}/account_data/org.example.note"
    await alice.ok("PUT", path, json={"text": "à relire"})
    assert await alice.ok("GET", path) == {"text": "à relire"}
    assert _room(await alice.ok("GET", f"/sync?since={token}"), room) == {
        "org.example.note": {"text": "à relire"}
    }
    assert _room(await alice.ok("GET", "/sync"), room)["org.example.note"] == {"text": "à relire"}


async def test_unknown_account_data_is_not_found(user_factory):
    alice = await user_factory("alice")
    response = await alice.request("GET", f"/user/{alice.user_id}/account_data/org.none")
    assert response.status_code == 404
    assert response.json()["errcode"] == "M_NOT_FOUND"


async def test_other_users_account_data_is_forbidden(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    for method, path in [
        ("GET", f"/user/{alice.user_id}/account_data/x.y"),
        ("PUT", f"/user/{alice.user_id}/account_data/x.y"),
        ("GET", f"/user/{alice.user_id}/rooms/{room}/account_data/x.y"),
        ("PUT", f"/user/{alice.user_id}/rooms/{room}/account_data/x.y"),
        ("GET", f"/user/{alice.user_id}/rooms/{room}/tags"),
    ]:
        response = await bob.request(method, path, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["errcode"] == "M_FORBIDDEN"


async def test_server_managed_types_cannot_be_set(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    for path in [
        f"/user/{alice.user_id}/account_data/m.push_rules",
        f"/user/{alice.user_id}/rooms/{room}/account_data/m.fully_read",
    ]:
        response = await alice.request("PUT", path, json={"event_id": "$x"})
        assert response.status_code == 405, path
        assert response.json()["errcode"] == "M_BAD_JSON"


async def test_room_account_data_needs_a_valid_room_id(user_factory):
    alice = await user_factory("alice")
    response = await alice.request(
        "PUT", f"/user/{alice.user_id}/rooms/not-a-room/account_data/x.y", json={}
    )
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_account_data_body_must_be_an_object(user_factory):
    alice = await user_factory("alice")
    response = await alice.request(
        "PUT", f"/user/{alice.user_id}/account_data/x.y", content=b"[1, 2]"
    )
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_BAD_JSON"


async def test_room_tags_add_list_delete_and_sync_as_m_tag(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    base = f"/user/{alice.user_id}/rooms/{room}/tags"
    assert await alice.ok("GET", base) == {"tags": {}}
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    await alice.ok("PUT", f"{base}/m.favourite", json={"order": 0.5})
    await alice.ok("PUT", f"{base}/u.travail", json={})
    assert await alice.ok("GET", base) == {"tags": {"m.favourite": {"order": 0.5}, "u.travail": {}}}
    synced = await alice.ok("GET", f"/sync?since={token}")
    assert _room(synced, room)["m.tag"] == {
        "tags": {"m.favourite": {"order": 0.5}, "u.travail": {}}
    }
    await alice.ok("DELETE", f"{base}/u.travail")
    assert await alice.ok("GET", base) == {"tags": {"m.favourite": {"order": 0.5}}}
    after = await alice.ok("GET", f"/sync?since={synced['next_batch']}")
    assert _room(after, room)["m.tag"] == {"tags": {"m.favourite": {"order": 0.5}}}


async def test_tag_order_must_be_a_number(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    response = await alice.request(
        "PUT", f"/user/{alice.user_id}/rooms/{room}/tags/m.lowpriority", json={"order": "haut"}
    )
    assert response.status_code == 400


async def test_push_rules_appear_in_initial_sync_account_data(user_factory):
    alice = await user_factory("alice")
    rules = _global(await alice.ok("GET", "/sync"))["m.push_rules"]
    ids = [r["rule_id"] for r in rules["global"]["override"]]
    assert ids[0] == ".m.rule.master"
    fetched = await alice.ok("GET", f"/user/{alice.user_id}/account_data/m.push_rules")
    assert fetched == rules


async def test_long_poll_wakes_on_own_account_data_only(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    alice_token = (await alice.ok("GET", "/sync"))["next_batch"]
    bob_token = (await bob.ok("GET", "/sync"))["next_batch"]
    alice_poll = asyncio.create_task(alice.ok("GET", f"/sync?since={alice_token}&timeout=20000"))
    bob_poll = asyncio.create_task(bob.ok("GET", f"/sync?since={bob_token}&timeout=1000"))
    await asyncio.sleep(0.2)
    bob_waiter = next(iter(services.notifier._by_user[bob.user_id]))
    await alice.ok("PUT", f"/user/{alice.user_id}/account_data/x.y", json={"v": 1})
    result = await asyncio.wait_for(alice_poll, 5)
    assert _global(result)["x.y"] == {"v": 1}
    assert not bob_waiter.woken
    assert "account_data" not in await asyncio.wait_for(bob_poll, 5)
