"""Room upgrades over HTTP."""

from typing import Any

import pytest

from tests.http.spec_shapes import assert_spec_shape


async def state(user: Any, room: str, event_type: str, state_key: str = "") -> Any:
    return await user.ok("GET", f"/rooms/{room}/state/{event_type}/{state_key}")


async def upgrade(user: Any, room: str, version: str, **extra: Any) -> str:
    body = await user.ok("POST", f"/rooms/{room}/upgrade", json={"new_version": version, **extra})
    assert_spec_shape("/_matrix/client/v3/rooms/{roomId}/upgrade", "post", body)
    return str(body["replacement_room"])


async def test_upgrade_copies_state_and_tombstones_the_old_room(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    old = (
        await alice.ok(
            "POST",
            "/createRoom",
            json={
                "room_version": "10",
                "preset": "public_chat",
                "name": "Atelier",
                "topic": "Poterie",
                "room_alias_name": "atelier",
                "visibility": "public",
                "initial_state": [
                    {"type": "m.room.guest_access", "content": {"guest_access": "can_join"}}
                ],
            },
        )
    )["room_id"]
    await bob.ok("POST", f"/join/{old}", json={})
    await alice.ok("POST", f"/rooms/{old}/ban", json={"user_id": "@troll:test.local"})
    old_head = (await alice.ok("GET", f"/rooms/{old}/messages?dir=b&limit=1"))["chunk"][0]

    new = await upgrade(alice, old, "11")
    assert new != old

    create = await state(alice, new, "m.room.create")
    assert create["room_version"] == "11"
    assert create["predecessor"] == {"room_id": old, "event_id": old_head["event_id"]}
    assert (await state(alice, new, "m.room.name")) == {"name": "Atelier"}
    assert (await state(alice, new, "m.room.topic")) == {"topic": "Poterie"}
    assert (await state(alice, new, "m.room.join_rules"))["join_rule"] == "public"
    assert (await state(alice, new, "m.room.guest_access")) == {"guest_access": "can_join"}
    assert (await state(alice, new, "m.room.member", "@troll:test.local"))["membership"] == "ban"
    assert (await state(alice, new, "m.room.canonical_alias"))["alias"] == "#atelier:test.local"
    assert (await state(alice, new, "m.room.power_levels"))["users"][alice.user_id] == 100

    tombstone = await state(bob, old, "m.room.tombstone")
    assert tombstone["replacement_room"] == new
    assert tombstone["body"]
    old_levels = await state(bob, old, "m.room.power_levels")
    assert old_levels["events_default"] == 50
    assert old_levels["invite"] == 50
    assert await state(bob, old, "m.room.canonical_alias") == {}

    alias = await bob.ok("GET", "/directory/room/%23atelier:test.local")
    assert alias["room_id"] == new
    listed = [r["room_id"] for r in (await bob.ok("GET", "/publicRooms"))["chunk"]]
    assert listed == [new]

    # Ordinary members can no longer talk in the old room, but can join the new one.
    response = await bob.request(
        "PUT", f"/rooms/{old}/send/m.room.message/1", json={"msgtype": "m.text", "body": "hi"}
    )
    assert response.status_code == 403
    await bob.ok("POST", f"/join/{new}", json={})


async def test_upgrade_to_v12_makes_the_upgrader_a_creator_outside_users(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    old = (await alice.ok("POST", "/createRoom", json={"room_version": "11", "name": "Old"}))[
        "room_id"
    ]
    new = await upgrade(alice, old, "12", additional_creators=[bob.user_id])
    create = await state(alice, new, "m.room.create")
    assert create["room_version"] == "12"
    assert create["predecessor"] == {"room_id": old}
    assert create["additional_creators"] == [bob.user_id]
    levels = await state(alice, new, "m.room.power_levels")
    assert alice.user_id not in levels["users"]
    assert bob.user_id not in levels["users"]
    assert (await state(alice, new, "m.room.name")) == {"name": "Old"}
    assert (await state(alice, old, "m.room.tombstone"))["replacement_room"] == new


async def test_upgrade_from_v12_keeps_old_creators_powerful(user_factory):
    alice = await user_factory("alice")
    old = (await alice.ok("POST", "/createRoom", json={"room_version": "12"}))["room_id"]
    new = await upgrade(alice, old, "11")
    levels = await state(alice, new, "m.room.power_levels")
    assert levels["users"][alice.user_id] >= 100


async def test_upgrade_needs_power_to_send_a_tombstone(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    response = await bob.request("POST", f"/rooms/{room}/upgrade", json={"new_version": "12"})
    assert response.status_code == 403
    assert response.json()["errcode"] == "M_FORBIDDEN"
    eve = await user_factory("eve")
    response = await eve.request("POST", f"/rooms/{room}/upgrade", json={"new_version": "12"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        ({"new_version": "999"}, 400, "M_UNSUPPORTED_ROOM_VERSION"),
        ({"new_version": 12}, 400, "M_BAD_JSON"),
        ({}, 400, "M_MISSING_PARAM"),
        ({"new_version": "12", "additional_creators": "bob"}, 400, "M_BAD_JSON"),
    ],
)
async def test_upgrade_rejects_bad_requests(user_factory, body, status, errcode):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    response = await alice.request("POST", f"/rooms/{room}/upgrade", json=body)
    assert response.status_code == status
    assert response.json()["errcode"] == errcode
    # Nothing happened to the room.
    missing = await alice.request("GET", f"/rooms/{room}/state/m.room.tombstone/")
    assert missing.status_code == 404


async def test_upgrade_of_unknown_room_is_not_found(user_factory):
    alice = await user_factory("alice")
    response = await alice.request(
        "POST", "/rooms/!nowhere:test.local/upgrade", json={"new_version": "11"}
    )
    assert response.status_code == 404
