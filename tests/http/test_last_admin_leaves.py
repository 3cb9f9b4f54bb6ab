"""A room never loses its last administrator: the next in rank is promoted first."""

import pytest

from sceau.services.policy.room_admins import succession_power_levels


def test_the_members_with_the_highest_remaining_level_are_promoted():
    content = {"users": {"@a:x": 100, "@b:x": 50, "@c:x": 50, "@d:x": 10}, "users_default": 0}
    levels = {"@a:x": 100, "@b:x": 50, "@c:x": 50, "@d:x": 10, "@e:x": 0}
    new = succession_power_levels(content, levels, "@a:x")
    assert new is not None
    assert new["users"] == {"@a:x": 100, "@b:x": 100, "@c:x": 100, "@d:x": 10}
    assert new["users_default"] == 0


def test_without_ranked_members_everyone_becomes_admin_through_users_default():
    content = {"users": {"@a:x": 100}, "users_default": 0, "ban": 50}
    new = succession_power_levels(content, {"@a:x": 100, "@b:x": 0}, "@a:x")
    assert new == {"users": {"@a:x": 100}, "users_default": 100, "ban": 50}


@pytest.mark.parametrize(
    ("levels", "leaving"),
    [
        ({"@a:x": 100, "@b:x": 100}, "@a:x"),  # another admin remains
        ({"@a:x": 100, "@b:x": 0}, "@b:x"),  # the leaver is no admin
        ({"@a:x": 100}, "@a:x"),  # nobody remains
    ],
)
def test_nothing_changes_when_an_admin_remains_or_nobody_does(levels, leaving):
    assert succession_power_levels({"users": dict(levels)}, levels, leaving) is None


async def test_when_the_last_admin_leaves_the_next_member_becomes_admin(register):
    alice = await register("alice")
    bob = await register("bob")
    carol = await register("carol")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    for user in (bob, carol):
        await user.ok("POST", f"/rooms/{room}/join", json={})
    levels = await alice.ok("GET", f"/rooms/{room}/state/m.room.power_levels/")
    levels["users"][bob.user_id] = 50
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.power_levels/", json=levels)
    await alice.ok("POST", f"/rooms/{room}/leave", json={})
    after = await bob.ok("GET", f"/rooms/{room}/state/m.room.power_levels/")
    assert after["users"][bob.user_id] == 100
    assert carol.user_id not in after["users"]
    # Bob can now run the room: rename it.
    await bob.ok("PUT", f"/rooms/{room}/state/m.room.name/", json={"name": "Renommé"})
    members = await bob.ok("GET", f"/rooms/{room}/joined_members")
    assert alice.user_id not in members["joined"]


async def test_when_the_last_admin_leaves_a_room_of_equals_everyone_becomes_admin(register):
    alice = await register("alice")
    bob = await register("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/rooms/{room}/join", json={})
    await alice.ok("POST", f"/rooms/{room}/leave", json={})
    after = await bob.ok("GET", f"/rooms/{room}/state/m.room.power_levels/")
    assert after["users_default"] == 100
