"""The local room directory: publicRooms and listing visibility."""

from typing import Any

from tests.http.spec_shapes import assert_spec_shape


async def public_room(user: Any, **body: Any) -> str:
    created = await user.ok("POST", "/createRoom", json={"visibility": "public", **body})
    return str(created["room_id"])


async def test_published_rooms_are_listed_with_their_summary(user_factory, client):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await public_room(
        alice, name="Jardin", topic="Plantes", room_alias_name="jardin", preset="public_chat"
    )
    await bob.ok("POST", f"/join/{room}", json={})
    await alice.ok("POST", "/createRoom", json={"name": "Hidden"})  # private: not listed
    await alice.ok(
        "PUT",
        f"/rooms/{room}/state/m.room.history_visibility",
        json={"history_visibility": "world_readable"},
    )
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.avatar", json={"url": "mxc://test.local/a"})

    listing = await alice.ok("GET", "/publicRooms")
    assert listing["total_room_count_estimate"] == 1
    assert listing["chunk"] == [
        {
            "room_id": room,
            "name": "Jardin",
            "topic": "Plantes",
            "canonical_alias": "#jardin:test.local",
            "avatar_url": "mxc://test.local/a",
            "num_joined_members": 2,
            "world_readable": True,
            "guest_can_join": False,
            "join_rule": "public",
        }
    ]
    assert_spec_shape("/_matrix/client/v3/publicRooms", "get", listing)
    # The spec lets anyone read the directory without a token.
    anonymous = await client.get("/_matrix/client/v3/publicRooms")
    assert anonymous.status_code == 200
    assert anonymous.json()["chunk"][0]["room_id"] == room


async def test_public_rooms_paginate_most_joined_first(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    rooms = [await public_room(alice, name=f"room {i}", preset="public_chat") for i in range(3)]
    await bob.ok("POST", f"/join/{rooms[2]}", json={})
    first = await alice.ok("GET", "/publicRooms?limit=2")
    assert first["chunk"][0]["room_id"] == rooms[2]
    assert len(first["chunk"]) == 2
    assert "prev_batch" not in first
    second = await alice.ok("GET", f"/publicRooms?limit=2&since={first['next_batch']}")
    assert len(second["chunk"]) == 1
    assert "next_batch" not in second
    assert "prev_batch" in second
    seen = {r["room_id"] for r in first["chunk"] + second["chunk"]}
    assert seen == set(rooms)
    response = await alice.request("GET", "/publicRooms?since=garbage")
    assert response.status_code == 400


async def test_post_public_rooms_filters_by_search_term_and_room_type(user_factory):
    alice = await user_factory("alice")
    chess = await public_room(alice, name="Chess Club", preset="public_chat")
    await public_room(alice, name="Go Club", topic="Baduk", preset="public_chat")
    space = await public_room(
        alice, name="Chess space", preset="public_chat", creation_content={"type": "m.space"}
    )
    found = await alice.ok(
        "POST", "/publicRooms", json={"filter": {"generic_search_term": "chess"}}
    )
    assert {r["room_id"] for r in found["chunk"]} == {chess, space}
    assert found["total_room_count_estimate"] == 2
    assert_spec_shape("/_matrix/client/v3/publicRooms", "post", found)
    topic = await alice.ok(
        "POST", "/publicRooms", json={"filter": {"generic_search_term": "BADUK"}}
    )
    assert [r["name"] for r in topic["chunk"]] == ["Go Club"]
    spaces = await alice.ok("POST", "/publicRooms", json={"filter": {"room_types": ["m.space"]}})
    assert [r["room_id"] for r in spaces["chunk"]] == [space]
    assert spaces["chunk"][0]["room_type"] == "m.space"
    plain = await alice.ok("POST", "/publicRooms", json={"filter": {"room_types": [None]}})
    assert space not in {r["room_id"] for r in plain["chunk"]}
    limited = await alice.ok("POST", "/publicRooms", json={"limit": 1})
    assert len(limited["chunk"]) == 1 and "next_batch" in limited
    response = await alice.request("POST", "/publicRooms", json={"filter": "chess"})
    assert response.status_code == 400


async def test_other_servers_directories_are_refused_without_federation(user_factory):
    alice = await user_factory("alice")
    response = await alice.request("GET", "/publicRooms?server=elsewhere.example")
    assert response.status_code == 403
    response = await alice.request("GET", "/publicRooms?server=not a server!")
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INVALID_PARAM"
    own = await alice.ok("GET", "/publicRooms?server=test.local")
    assert own["chunk"] == []


async def test_visibility_can_be_read_and_changed_by_moderators_only(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    assert await bob.ok("GET", f"/directory/list/room/{room}") == {"visibility": "private"}

    response = await bob.request(
        "PUT", f"/directory/list/room/{room}", json={"visibility": "public"}
    )
    assert response.status_code == 403
    assert response.json()["errcode"] == "M_FORBIDDEN"

    await alice.ok("PUT", f"/directory/list/room/{room}", json={"visibility": "public"})
    assert await bob.ok("GET", f"/directory/list/room/{room}") == {"visibility": "public"}
    assert [r["room_id"] for r in (await bob.ok("GET", "/publicRooms"))["chunk"]] == [room]

    await alice.ok("PUT", f"/directory/list/room/{room}", json={"visibility": "private"})
    assert (await bob.ok("GET", "/publicRooms"))["chunk"] == []

    response = await alice.request(
        "PUT", f"/directory/list/room/{room}", json={"visibility": "secret"}
    )
    assert response.status_code == 400
    response = await alice.request("GET", "/directory/list/room/!nowhere:test.local")
    assert response.status_code == 404


async def test_thirdparty_protocols_is_empty(user_factory):
    alice = await user_factory("alice")
    assert await alice.ok("GET", "/thirdparty/protocols") == {}


async def test_limit_zero_lists_every_room(user_factory):
    alice = await user_factory("alice")
    rooms = {await public_room(alice, preset="public_chat") for _ in range(2)}
    listing = await alice.ok("GET", "/publicRooms?limit=0")
    assert {r["room_id"] for r in listing["chunk"]} == rooms
    assert "next_batch" not in listing


async def test_published_rooms_closed_to_outsiders_are_not_listed(user_factory):
    alice = await user_factory("alice")
    room = await public_room(alice, preset="public_chat")
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.join_rules", json={"join_rule": "invite"})
    assert (await alice.ok("GET", "/publicRooms"))["chunk"] == []
    await alice.ok(
        "PUT",
        f"/rooms/{room}/state/m.room.history_visibility",
        json={"history_visibility": "world_readable"},
    )
    listed = (await alice.ok("GET", "/publicRooms"))["chunk"]
    assert [(r["room_id"], r["join_rule"], r["world_readable"]) for r in listed] == [
        (room, "invite", True)
    ]
