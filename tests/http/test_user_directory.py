"""User directory search over HTTP."""

from typing import Any

import pytest

from tests.http.spec_shapes import assert_spec_shape


async def find(user: Any, term: str, limit: int | None = None) -> Any:
    body: dict[str, Any] = {"search_term": term}
    if limit is not None:
        body["limit"] = limit
    return await user.ok("POST", "/user_directory/search", json=body)


def user_ids(result: Any) -> list[str]:
    return [entry["user_id"] for entry in result["results"]]


async def test_finds_users_sharing_a_room_but_not_strangers(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await user_factory("bobby")  # shares nothing with alice
    room = (await alice.ok("POST", "/createRoom", json={"invite": [bob.user_id]}))["room_id"]
    assert (await find(alice, "bob"))["results"] == []  # only invited so far
    await bob.ok("POST", f"/join/{room}", json={})
    result = await find(alice, "bob")
    assert user_ids(result) == [bob.user_id]
    assert result["limited"] is False
    assert_spec_shape("/_matrix/client/v3/user_directory/search", "post", result)


async def test_finds_members_of_public_rooms(user_factory):
    alice = await user_factory("alice")
    carol = await user_factory("carol")
    room = (await carol.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    assert user_ids(await find(alice, "carol")) == [carol.user_id]
    await carol.ok("PUT", f"/rooms/{room}/state/m.room.join_rules", json={"join_rule": "invite"})
    assert user_ids(await find(alice, "carol")) == []


async def test_matches_display_names_case_insensitively(user_factory, services):
    alice = await user_factory("alice")
    dora = await user_factory("dora")
    async with services.stores.db.transaction() as txn:
        await txn.execute(
            "UPDATE users SET displayname = ?, avatar_url = ? WHERE user_id = ?",
            "Dora the Explorer",
            "mxc://test.local/dora",
            dora.user_id,
        )
    await dora.ok("POST", "/createRoom", json={"preset": "public_chat"})
    result = await find(alice, "EXPLORER")
    assert result["results"] == [
        {
            "user_id": dora.user_id,
            "display_name": "Dora the Explorer",
            "avatar_url": "mxc://test.local/dora",
        }
    ]
    assert user_ids(await find(alice, "dora explorer")) == [dora.user_id]
    assert user_ids(await find(alice, "dora pirate")) == []
    assert user_ids(await find(alice, "%")) == []


async def test_limit_sets_the_limited_flag_and_sharing_users_come_first(user_factory):
    alice = await user_factory("alice")
    members = [await user_factory(f"member{i}") for i in range(3)]
    room = (await members[0].ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    for member in members[1:]:
        await member.ok("POST", f"/join/{room}", json={})
    private = (await alice.ok("POST", "/createRoom", json={"invite": [members[2].user_id]}))[
        "room_id"
    ]
    await members[2].ok("POST", f"/join/{private}", json={})
    result = await find(alice, "member", limit=2)
    assert result["limited"] is True
    assert len(result["results"]) == 2
    assert result["results"][0]["user_id"] == members[2].user_id
    everyone = await find(alice, "member")
    assert sorted(user_ids(everyone)) == sorted(m.user_id for m in members)
    assert everyone["limited"] is False


async def test_rejects_malformed_requests(user_factory):
    alice = await user_factory("alice")
    for body in ({}, {"search_term": 5}, {"search_term": "a", "limit": "ten"}):
        response = await alice.request("POST", "/user_directory/search", json=body)
        assert response.status_code == 400, body
        assert response.json()["errcode"] == "M_BAD_JSON"


async def test_deactivated_users_are_not_found(user_factory, services):
    alice = await user_factory("alice")
    gone = await user_factory("gonzo")
    await gone.ok("POST", "/createRoom", json={"preset": "public_chat"})
    assert user_ids(await find(alice, "gonzo")) == [gone.user_id]
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE users SET deactivated = 1 WHERE user_id = ?", gone.user_id)
    assert user_ids(await find(alice, "gonzo")) == []


async def test_users_who_set_hide_profile_are_left_out_until_they_unset_it(user_factory):
    alice = await user_factory("alice")
    carol = await user_factory("carol")
    await carol.ok("POST", "/createRoom", json={"preset": "public_chat"})
    assert user_ids(await find(alice, "carol")) == [carol.user_id]
    hide = f"/user/{carol.user_id}/account_data/im.vector.hide_profile"
    await carol.ok("PUT", hide, json={"hide_profile": True})
    assert user_ids(await find(alice, "carol")) == []
    await carol.ok("PUT", hide, json={"hide_profile": False})
    assert user_ids(await find(alice, "carol")) == [carol.user_id]


@pytest.mark.parametrize("config_overrides", [{"policy": {"external_servers": ["test.local"]}}])
async def test_external_partners_carry_the_profiles_policy_mark(user_factory):
    alice = await user_factory("alice")
    carol = await user_factory("carol")
    await carol.ok("POST", "/createRoom", json={"preset": "public_chat"})
    (entry,) = (await find(alice, "carol"))["results"]
    assert entry["policy"] == {"external": True}


async def test_agents_carry_no_policy_mark(user_factory):
    alice = await user_factory("alice")
    carol = await user_factory("carol")
    await carol.ok("POST", "/createRoom", json={"preset": "public_chat"})
    (entry,) = (await find(alice, "carol"))["results"]
    assert "policy" not in entry
