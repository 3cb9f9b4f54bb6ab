"""Room access rules and the state's room defaults, through the client API.

The rules about external partners need a second server and are proven as pure
decisions in tests/services/test_access_rules.py.
"""

from typing import Any

import pytest

ACCESS_RULES = "im.vector.room.access_rules"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"policy": {"room_access_rules": True, "external_servers": ["externes.test"]}}


async def state(user: Any, room: str, kind: str) -> Any:
    return await user.ok("GET", f"/rooms/{room}/state/{kind}/")


def assert_refused(response: Any, status: int, policy: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errcode"] == "M_FORBIDDEN"
    assert body["policy"] == policy
    assert " / " in body["error"]


async def test_a_private_room_gets_the_restricted_rule_and_the_state_defaults(register):
    alice = await register("alice")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Cellule de crise"}))["room_id"]
    assert await state(alice, room, ACCESS_RULES) == {"rule": "restricted"}
    assert await state(alice, room, "m.room.history_visibility") == {
        "history_visibility": "invited"
    }
    assert (await state(alice, room, "m.room.encryption"))["algorithm"] == "m.megolm.v1.aes-sha2"
    levels = await state(alice, room, "m.room.power_levels")
    for action in ("invite", "kick", "ban", "redact"):
        assert levels[action] == 50
    assert levels["state_default"] == 100
    assert levels["users"] == {alice.user_id: 100}
    events = levels["events"]
    assert events["m.room.name"] == events["m.room.avatar"] == 50
    assert events["m.room.canonical_alias"] == 50
    assert events["m.call.member"] == events["org.matrix.msc3401.call.member"] == 0
    assert events["m.call"] == events["org.matrix.msc3401.call"] == 0
    assert events["m.beacon_info"] == events["org.matrix.msc3672.beacon_info"] == 0
    for kind in ("m.room.power_levels", "m.room.history_visibility", "m.room.encryption"):
        assert events[kind] == 100


async def test_a_forum_is_restricted_unencrypted_shared_and_stays_public(register):
    alice = await register("alice")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    assert await state(alice, room, ACCESS_RULES) == {"rule": "restricted"}
    assert await state(alice, room, "m.room.history_visibility") == {"history_visibility": "shared"}
    missing = await alice.request("GET", f"/rooms/{room}/state/m.room.encryption/")
    assert missing.status_code == 404
    private = await alice.request(
        "PUT", f"/rooms/{room}/state/m.room.join_rules/", json={"join_rule": "invite"}
    )
    assert_refused(private, 403, "FORUM_STAYS_PUBLIC")
    encrypt = await alice.request(
        "PUT",
        f"/rooms/{room}/state/m.room.encryption/",
        json={"algorithm": "m.megolm.v1.aes-sha2"},
    )
    assert_refused(encrypt, 403, "FORUM_NOT_ENCRYPTED")


@pytest.mark.parametrize(
    ("body", "policy"),
    [
        (
            {
                "preset": "public_chat",
                "initial_state": [
                    {"type": ACCESS_RULES, "state_key": "", "content": {"rule": "unrestricted"}}
                ],
            },
            "FORUM_RESTRICTED_ONLY",
        ),
        ({"power_level_content_override": {"invite": 0}}, "POWER_LEVELS_LOWERED"),
        ({"power_level_content_override": {"state_default": 50}}, "POWER_LEVELS_LOWERED"),
        (
            {"initial_state": [{"type": ACCESS_RULES, "state_key": "", "content": {"rule": "x"}}]},
            "INVALID_RULE",
        ),
        ({"is_direct": True, "invite": ["@b:test.local", "@c:test.local"]}, "DIRECT_ROOM_FULL"),
        ({"invite": ["@partner:externes.test"]}, "EXTERNAL_NOT_ALLOWED"),
    ],
)
async def test_creation_refuses_what_the_rules_forbid_with_400(register, body, policy):
    alice = await register("alice")
    assert_refused(await alice.request("POST", "/createRoom", json=body), 400, policy)
    assert (await alice.ok("GET", "/joined_rooms"))["joined_rooms"] == []


async def test_a_direct_chat_keeps_two_members_and_no_name(register):
    alice = await register("alice")
    bob = await register("bob")
    carol = await register("carol")
    room = (
        await alice.ok("POST", "/createRoom", json={"is_direct": True, "invite": [bob.user_id]})
    )["room_id"]
    assert await state(alice, room, ACCESS_RULES) == {"rule": "direct"}
    await bob.ok("POST", f"/rooms/{room}/join", json={})
    third = await alice.request("POST", f"/rooms/{room}/invite", json={"user_id": carol.user_id})
    assert_refused(third, 403, "DIRECT_ROOM_FULL")
    named = await alice.request("PUT", f"/rooms/{room}/state/m.room.name/", json={"name": "X"})
    assert_refused(named, 403, "DIRECT_ROOM_PROFILE")
    public = await alice.request(
        "PUT", f"/rooms/{room}/state/m.room.join_rules/", json={"join_rule": "public"}
    )
    assert_refused(public, 403, "DIRECT_ROOM_NOT_PUBLIC")
    # Once Bob leaves, the seat is free again.
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    await alice.ok("POST", f"/rooms/{room}/invite", json={"user_id": carol.user_id})


async def test_restricted_may_open_to_externals_but_never_back(register):
    alice = await register("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    path = f"/rooms/{room}/state/{ACCESS_RULES}/"
    await alice.ok("PUT", path, json={"rule": "unrestricted"})
    back = await alice.request("PUT", path, json={"rule": "restricted"})
    assert_refused(back, 403, "RULE_CHANGE_FORBIDDEN")
    direct = await alice.request("PUT", path, json={"rule": "direct"})
    assert_refused(direct, 403, "RULE_CHANGE_FORBIDDEN")
    default = await alice.request(
        "PUT",
        f"/rooms/{room}/state/m.room.power_levels/",
        json={**(await state(alice, room, "m.room.power_levels")), "users_default": 50},
    )
    assert_refused(default, 403, "EXTERNAL_POWER")


async def test_only_restricted_rooms_are_published_and_published_ones_stay_restricted(register):
    alice = await register("alice")
    forum = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await alice.ok("PUT", f"/directory/list/room/{forum}", json={"visibility": "public"})
    opened = await alice.request(
        "PUT", f"/rooms/{forum}/state/{ACCESS_RULES}/", json={"rule": "unrestricted"}
    )
    assert_refused(opened, 403, "RULE_CHANGE_WHILE_PUBLISHED")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok("PUT", f"/rooms/{room}/state/{ACCESS_RULES}/", json={"rule": "unrestricted"})
    publish = await alice.request(
        "PUT", f"/directory/list/room/{room}", json={"visibility": "public"}
    )
    assert_refused(publish, 403, "PUBLISH_RESTRICTED_ONLY")


@pytest.mark.parametrize(
    "config_overrides",
    [{"policy": {"invite_rules": {"domain_mapping": {"test.local": ["agents.test"]}}}}],
)
async def test_an_invite_the_domain_rules_forbid_is_refused_and_names_the_rule(register):
    alice = await register("alice")
    bob = await register("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    response = await alice.request("POST", f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    assert_refused(response, 403, "INVITE_RULE")
    assert "invite_rules.domain_mapping.test.local" in response.json()["error"]
