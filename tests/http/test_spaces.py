"""Spaces: GET /hierarchy walks m.space.child links; GET /room_summary previews one room."""

from typing import Any
from urllib.parse import quote

import pytest

from tests.http.spec_shapes import assert_spec_shape

V1 = "/_matrix/client/v1"
HIERARCHY = V1 + "/rooms/{roomId}/hierarchy"
SUMMARY = V1 + "/room_summary/{roomIdOrAlias}"


async def create_room(user: Any, name: str, space: bool = False, **body: Any) -> str:
    body.setdefault("preset", "public_chat")
    if space:
        body["creation_content"] = {"type": "m.space"}
    created = await user.ok("POST", "/createRoom", json={"name": name, **body})
    return str(created["room_id"])


async def add_child(user: Any, space: str, child: str, **content: Any) -> None:
    content.setdefault("via", ["test.local"])
    await user.ok("PUT", f"/rooms/{space}/state/m.space.child/{child}", json=content)


async def hierarchy(user: Any, room: str, query: str = "") -> Any:
    return await user.ok("GET", f"{V1}/rooms/{room}/hierarchy{query}")


def names(body: Any) -> list[str]:
    return [room.get("name") for room in body["rooms"]]


@pytest.fixture
async def tree(user_factory) -> dict[str, Any]:
    """A public space: General, a sub-space (holding Deep and a remote room), a private room."""
    alice = await user_factory("alice")
    space = await create_room(alice, "Ministry", space=True)
    general = await create_room(alice, "General")
    sub = await create_room(alice, "Sub", space=True)
    deep = await create_room(alice, "Deep")
    private = await create_room(alice, "Private", preset="private_chat")
    viafree = await create_room(alice, "No via")
    await add_child(alice, space, general, order="a", suggested=True)
    await add_child(alice, space, sub, order="b")
    await add_child(alice, space, private, order="c")
    await add_child(alice, space, viafree, via=[])
    await add_child(alice, sub, deep)
    await add_child(alice, sub, "!remote:elsewhere.test", via=["elsewhere.test"])
    rooms = {"space": space, "general": general, "sub": sub, "deep": deep}
    return {"alice": alice, "private": private, "viafree": viafree, **rooms}


async def test_hierarchy_walks_the_space_depth_first_in_child_order(tree):
    body = await hierarchy(tree["alice"], tree["space"])
    assert names(body) == ["Ministry", "General", "Sub", "Deep", "Private"]
    assert "next_batch" not in body
    root = body["rooms"][0]
    assert root["room_type"] == "m.space"
    assert root["join_rule"] == "public"
    assert root["num_joined_members"] == 1
    assert [c["state_key"] for c in root["children_state"]] == [
        tree["general"],
        tree["sub"],
        tree["private"],
    ]
    child = root["children_state"][0]
    assert child["type"] == "m.space.child"
    assert child["sender"] == tree["alice"].user_id
    assert child["content"] == {"via": ["test.local"], "order": "a", "suggested": True}
    assert isinstance(child["origin_server_ts"], int)
    general = body["rooms"][1]
    assert general["children_state"] == []
    assert "room_type" not in general
    assert_spec_shape(HIERARCHY, "get", body)


async def test_a_child_without_via_is_ignored_and_a_remote_child_only_listed(tree):
    body = await hierarchy(tree["alice"], tree["space"])
    assert tree["viafree"] not in {r["room_id"] for r in body["rooms"]}
    root_children = {c["state_key"] for c in body["rooms"][0]["children_state"]}
    assert tree["viafree"] not in root_children
    sub = next(r for r in body["rooms"] if r["room_id"] == tree["sub"])
    assert {c["state_key"] for c in sub["children_state"]} == {
        tree["deep"],
        "!remote:elsewhere.test",
    }
    assert "!remote:elsewhere.test" not in {r["room_id"] for r in body["rooms"]}


async def test_max_depth_stops_the_walk_but_keeps_children_state(tree):
    only_root = await hierarchy(tree["alice"], tree["space"], "?max_depth=0")
    assert names(only_root) == ["Ministry"]
    assert len(only_root["rooms"][0]["children_state"]) == 3
    one_level = await hierarchy(tree["alice"], tree["space"], "?max_depth=1")
    assert names(one_level) == ["Ministry", "General", "Sub", "Private"]
    sub = one_level["rooms"][2]
    assert {c["state_key"] for c in sub["children_state"]} == {
        tree["deep"],
        "!remote:elsewhere.test",
    }


async def test_suggested_only_follows_and_lists_suggested_children_alone(tree):
    body = await hierarchy(tree["alice"], tree["space"], "?suggested_only=true")
    assert names(body) == ["Ministry", "General"]
    assert [c["state_key"] for c in body["rooms"][0]["children_state"]] == [tree["general"]]


async def test_limit_and_from_paginate_through_every_room_once(tree):
    alice, space = tree["alice"], tree["space"]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&from={quote(token)}" if token else "")
        body = await hierarchy(alice, space, query)
        assert len(body["rooms"]) <= 2
        seen += names(body)
        pages += 1
        token = body.get("next_batch")
        if token is None:
            break
    assert pages == 3
    assert seen == ["Ministry", "General", "Sub", "Deep", "Private"]
    # The same token gives the same page again.
    first = await hierarchy(alice, space, "?limit=2")
    again = await hierarchy(alice, space, f"?limit=2&from={quote(first['next_batch'])}")
    assert names(again) == ["Sub", "Deep"]
    # A token is tied to suggested_only, max_depth and the root room.
    token = first["next_batch"]
    for query in (
        f"?from={quote(token)}&max_depth=3",
        f"?from={quote(token)}&suggested_only=true",
    ):
        response = await alice.request("GET", f"{V1}/rooms/{space}/hierarchy{query}")
        assert (response.status_code, response.json()["errcode"]) == (400, "M_INVALID_PARAM")
    other = await alice.request("GET", f"{V1}/rooms/{tree['sub']}/hierarchy?from={quote(token)}")
    assert (other.status_code, other.json()["errcode"]) == (400, "M_INVALID_PARAM")
    garbage = await alice.request("GET", f"{V1}/rooms/{space}/hierarchy?from=nonsense")
    assert (garbage.status_code, garbage.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_a_loop_between_spaces_ends_with_each_room_once(user_factory):
    alice = await user_factory("alice")
    a = await create_room(alice, "A", space=True)
    b = await create_room(alice, "B", space=True)
    await add_child(alice, a, b)
    await add_child(alice, b, a)
    await add_child(alice, b, b)
    body = await hierarchy(alice, a)
    assert names(body) == ["A", "B"]
    assert names(await hierarchy(alice, b)) == ["B", "A"]


async def test_outsider_sees_public_rooms_but_not_private_ones(tree, user_factory):
    bob = await user_factory("bob")
    body = await hierarchy(bob, tree["space"])
    assert names(body) == ["Ministry", "General", "Sub", "Deep"]
    # The hidden room is still named as a child of the space.
    assert tree["private"] in {c["state_key"] for c in body["rooms"][0]["children_state"]}
    # Once invited, bob may see it too.
    await tree["alice"].ok(
        "POST", f"/rooms/{tree['private']}/invite", json={"user_id": bob.user_id}
    )
    assert "Private" in names(await hierarchy(bob, tree["space"]))


async def test_restricted_child_is_visible_through_membership_of_an_allowed_room(user_factory):
    alice, bob, dave = [await user_factory(n) for n in ("alice", "bob", "dave")]
    space = await create_room(alice, "Ministry", space=True)
    staff = await create_room(alice, "Staff", preset="private_chat")
    rule = {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": staff}]}
    restricted = await create_room(
        alice,
        "Restricted",
        preset="private_chat",
        initial_state=[{"type": "m.room.join_rules", "state_key": "", "content": rule}],
    )
    await add_child(alice, space, restricted)
    await alice.ok("POST", f"/rooms/{staff}/invite", json={"user_id": bob.user_id})
    await bob.ok("POST", f"/join/{staff}", json={})

    seen_by_bob = await hierarchy(bob, space)
    assert names(seen_by_bob) == ["Ministry", "Restricted"]
    entry = seen_by_bob["rooms"][1]
    assert entry["join_rule"] == "restricted"
    assert entry["allowed_room_ids"] == [staff]
    assert_spec_shape(HIERARCHY, "get", seen_by_bob)
    assert names(await hierarchy(dave, space)) == ["Ministry"]


async def test_root_the_requester_may_not_see_or_that_does_not_exist_is_forbidden(
    tree, user_factory
):
    carol = await user_factory("carol")
    for room in (tree["private"], "!nosuchroom:test.local", "not a room"):
        response = await carol.request("GET", f"{V1}/rooms/{quote(room)}/hierarchy")
        assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN"), room
    anonymous = await tree["alice"].http.get(f"{V1}/rooms/{tree['space']}/hierarchy")
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    "query",
    ["limit=abc", "limit=0", "limit=-3", "max_depth=-1", "max_depth=1.5", "suggested_only=maybe"],
)
async def test_bad_hierarchy_parameters_are_invalid_params(tree, query):
    response = await tree["alice"].request("GET", f"{V1}/rooms/{tree['space']}/hierarchy?{query}")
    assert (response.status_code, response.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_limit_above_the_cap_is_served_capped(tree):
    body = await hierarchy(tree["alice"], tree["space"], "?limit=100000")
    assert len(body["rooms"]) == 5


# ----------------------------------------------------------------- summary


async def test_room_summary_by_id_and_by_alias_for_a_member(tree):
    alice = tree["alice"]
    await alice.ok(
        "PUT", f"/directory/room/{quote('#ministry:test.local')}", json={"room_id": tree["space"]}
    )
    await alice.ok("PUT", f"/rooms/{tree['space']}/state/m.room.topic", json={"topic": "Spaces"})
    by_id = await alice.ok("GET", f"{V1}/room_summary/{tree['space']}")
    by_alias = await alice.ok("GET", f"{V1}/room_summary/{quote('#ministry:test.local')}")
    assert by_id == by_alias
    assert by_id["room_id"] == tree["space"]
    assert by_id["name"] == "Ministry"
    assert by_id["topic"] == "Spaces"
    assert by_id["room_type"] == "m.space"
    assert by_id["membership"] == "join"
    assert by_id["join_rule"] == "public"
    assert by_id["num_joined_members"] == 1
    assert by_id["world_readable"] is False
    assert by_id["guest_can_join"] is False
    assert by_id["room_version"] == "11"
    assert "children_state" not in by_id
    assert_spec_shape(SUMMARY, "get", by_id)
    unstable = await alice.ok(
        "GET", f"/_matrix/client/unstable/im.nheko.summary/summary/{tree['space']}"
    )
    assert unstable == by_id


async def test_room_summary_for_an_outsider_and_without_a_token(tree, user_factory):
    bob = await user_factory("bob")
    public = await bob.ok("GET", f"{V1}/room_summary/{tree['general']}")
    assert public["membership"] == "leave"
    hidden = await bob.request("GET", f"{V1}/room_summary/{tree['private']}")
    assert (hidden.status_code, hidden.json()["errcode"]) == (404, "M_NOT_FOUND")
    http = bob.http
    anonymous = await http.get(f"{V1}/room_summary/{tree['general']}")
    assert anonymous.status_code == 200
    assert "membership" not in anonymous.json()
    assert_spec_shape(SUMMARY, "get", anonymous.json())
    hidden = await http.get(f"{V1}/room_summary/{tree['private']}")
    assert (hidden.status_code, hidden.json()["errcode"]) == (404, "M_NOT_FOUND")
    forged = await http.get(
        f"{V1}/room_summary/{tree['general']}", headers={"Authorization": "Bearer nope"}
    )
    assert (forged.status_code, forged.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")


async def test_room_summary_of_an_unknown_room_or_alias_is_not_found(tree):
    alice = tree["alice"]
    for target in ("!nosuchroom:test.local", "#nosuch:test.local"):
        response = await alice.request("GET", f"{V1}/room_summary/{quote(target)}")
        assert (response.status_code, response.json()["errcode"]) == (404, "M_NOT_FOUND")
    response = await alice.request("GET", f"{V1}/room_summary/garbage")
    assert (response.status_code, response.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_room_summary_shows_encryption_and_a_world_readable_room_to_anyone(user_factory):
    alice = await user_factory("alice")
    room = await create_room(alice, "Archive", preset="private_chat")
    await alice.ok(
        "PUT",
        f"/rooms/{room}/state/m.room.history_visibility",
        json={"history_visibility": "world_readable"},
    )
    anonymous = await alice.http.get(f"{V1}/room_summary/{room}")
    assert anonymous.status_code == 200
    summary = anonymous.json()
    assert summary["world_readable"] is True
    assert summary["join_rule"] == "invite"
    assert summary["encryption"] == "m.megolm.v1.aes-sha2"
