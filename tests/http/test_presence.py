"""Presence: /presence/{userId}/status, set_presence on /sync, m.presence in /sync."""

import asyncio

import pytest

DISABLED = pytest.mark.parametrize("config_overrides", [{"presence": {"enabled": False}}])


async def _shared_room(alice, bob):
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    return room


def _presence(sync):
    return {e["sender"]: e["content"] for e in sync.get("presence", {}).get("events", [])}


async def test_set_and_get_own_status(user_factory):
    alice = await user_factory("alice")
    path = f"/presence/{alice.user_id}/status"
    await alice.ok("PUT", path, json={"presence": "unavailable", "status_msg": "en réunion"})
    status = await alice.ok("GET", path)
    assert status["presence"] == "unavailable"
    assert status["status_msg"] == "en réunion"
    assert status["currently_active"] is False
    assert status["last_active_ago"] >= 0


async def test_syncing_marks_the_user_online_by_default(user_factory):
    alice = await user_factory("alice")
    sync = await alice.ok("GET", "/sync")
    assert _presence(sync)[alice.user_id]["presence"] == "online"
    status = await alice.ok("GET", f"/presence/{alice.user_id}/status")
    assert status["presence"] == "online"
    assert status["currently_active"] is True


async def test_set_presence_on_sync_is_honoured(user_factory):
    alice = await user_factory("alice")
    await alice.ok("GET", "/sync?set_presence=unavailable")
    assert (await alice.ok("GET", f"/presence/{alice.user_id}/status"))["presence"] == "unavailable"
    await alice.ok("PUT", f"/presence/{alice.user_id}/status", json={"presence": "offline"})
    await alice.ok("GET", "/sync?set_presence=offline")
    assert (await alice.ok("GET", f"/presence/{alice.user_id}/status"))["presence"] == "offline"


async def test_repeated_syncs_do_not_report_presence_again(user_factory):
    alice = await user_factory("alice")
    first = await alice.ok("GET", "/sync")
    second = await alice.ok("GET", f"/sync?since={first['next_batch']}")
    assert "presence" not in second


async def test_status_change_reaches_users_sharing_a_room(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    await _shared_room(alice, bob)
    bob_token = (await bob.ok("GET", "/sync"))["next_batch"]
    carol_token = (await carol.ok("GET", "/sync"))["next_batch"]
    await alice.ok(
        "PUT",
        f"/presence/{alice.user_id}/status",
        json={"presence": "online", "status_msg": "dispo"},
    )
    seen = _presence(await bob.ok("GET", f"/sync?since={bob_token}"))
    assert seen[alice.user_id]["status_msg"] == "dispo"
    assert alice.user_id not in _presence(await carol.ok("GET", f"/sync?since={carol_token}"))


async def test_long_poll_wakes_on_presence_of_a_room_mate(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await _shared_room(alice, bob)
    await alice.ok("GET", "/sync")
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    poll = asyncio.create_task(bob.ok("GET", f"/sync?since={token}&timeout=20000"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await alice.ok("PUT", f"/presence/{alice.user_id}/status", json={"presence": "unavailable"})
    result = await asyncio.wait_for(poll, 5)
    assert _presence(result)[alice.user_id]["presence"] == "unavailable"


async def test_presence_of_strangers_and_for_others_is_forbidden(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    stranger = await bob.request("GET", f"/presence/{alice.user_id}/status")
    assert stranger.status_code == 403
    other = await bob.request(
        "PUT", f"/presence/{alice.user_id}/status", json={"presence": "online"}
    )
    assert other.status_code == 403


async def test_bad_presence_values_are_rejected(user_factory):
    alice = await user_factory("alice")
    path = f"/presence/{alice.user_id}/status"
    for body in [{"presence": "busy"}, {}, {"presence": "online", "status_msg": 3}]:
        response = await alice.request("PUT", path, json=body)
        assert response.status_code == 400, body
    bad_sync = await alice.request("GET", "/sync?set_presence=asleep")
    assert bad_sync.status_code == 400


@DISABLED
async def test_disabled_presence_reads_offline_and_ignores_updates(user_factory):
    alice = await user_factory("alice")
    path = f"/presence/{alice.user_id}/status"
    await alice.ok("PUT", path, json={"presence": "online", "status_msg": "ici"})
    assert await alice.ok("GET", path) == {"presence": "offline"}
    assert "presence" not in await alice.ok("GET", "/sync")


async def test_new_room_mate_presence_arrives_with_the_join(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await alice.ok("PUT", f"/presence/{alice.user_id}/status", json={"presence": "unavailable"})
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    result = await bob.ok("GET", f"/sync?since={token}")
    assert _presence(result)[alice.user_id]["presence"] == "unavailable"
