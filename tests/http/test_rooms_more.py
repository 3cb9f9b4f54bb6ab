"""Room behaviours beyond the basics: knocking, forgetting, member history, createRoom options."""

import json


async def test_knock_then_invite_then_join(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.join_rules", json={"join_rule": "knock"})
    assert (await bob.ok("POST", f"/knock/{room}", json={"reason": "bonjour"}))["room_id"] == room
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert member["membership"] == "knock" and member["reason"] == "bonjour"
    knocks = await bob.ok("GET", "/sync")
    assert room in knocks["rooms"]["knock"]
    await alice.ok("POST", f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    await bob.ok("POST", f"/join/{room}", json={})
    assert room in (await bob.ok("GET", "/joined_rooms"))["joined_rooms"]


async def test_knocking_on_an_invite_only_room_is_forbidden(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    response = await bob.request("POST", f"/knock/{room}", json={})
    assert response.status_code == 403


async def test_forget_needs_leaving_first_and_hides_the_room_from_sync(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    refused = await alice.request("POST", f"/rooms/{room}/forget", json={})
    assert refused.status_code == 400
    await alice.ok("POST", f"/rooms/{room}/leave", json={})
    with_leave = json.dumps({"room": {"include_leave": True}})
    assert room in (await alice.ok("GET", "/sync", params={"filter": with_leave}))["rooms"]["leave"]
    await alice.ok("POST", f"/rooms/{room}/forget", json={})
    after = await alice.ok("GET", "/sync", params={"filter": with_leave})
    assert room not in after.get("rooms", {}).get("leave", {})


async def test_members_at_a_token_and_membership_filters(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    before_carol = (await alice.ok("GET", "/sync"))["next_batch"]
    await carol.ok("POST", f"/join/{room}", json={})
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    now = {e["state_key"] for e in (await alice.ok("GET", f"/rooms/{room}/members"))["chunk"]}
    assert now == {alice.user_id, bob.user_id, carol.user_id}
    joined = await alice.ok("GET", f"/rooms/{room}/members", params={"membership": "join"})
    assert {e["state_key"] for e in joined["chunk"]} == {alice.user_id, carol.user_id}
    not_left = await alice.ok("GET", f"/rooms/{room}/members", params={"not_membership": "leave"})
    assert {e["state_key"] for e in not_left["chunk"]} == {alice.user_id, carol.user_id}
    then = await alice.ok("GET", f"/rooms/{room}/members", params={"at": before_carol})
    members_then = {e["state_key"]: e["content"]["membership"] for e in then["chunk"]}
    assert members_then == {alice.user_id: "join", bob.user_id: "join"}


async def test_create_room_options_are_applied(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    body = {
        "is_direct": True,
        "invite": [bob.user_id],
        "creation_content": {"m.federate": False, "type": "org.example.team"},
        "power_level_content_override": {"events_default": 20, "users": {alice.user_id: 100}},
        "initial_state": [
            {"type": "m.room.guest_access", "content": {"guest_access": "forbidden"}}
        ],
    }
    room = (await alice.ok("POST", "/createRoom", json=body))["room_id"]
    create = await alice.ok("GET", f"/rooms/{room}/state/m.room.create")
    assert create["m.federate"] is False and create["type"] == "org.example.team"
    levels = await alice.ok("GET", f"/rooms/{room}/state/m.room.power_levels")
    assert levels["events_default"] == 20
    invite = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert invite == {"membership": "invite", "is_direct": True}
    guest = await alice.ok("GET", f"/rooms/{room}/state/m.room.guest_access")
    assert guest == {"guest_access": "forbidden"}


async def test_messages_honour_the_filter_and_the_to_token(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    start = (await alice.ok("GET", "/sync"))["next_batch"]
    for i in range(3):
        await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/a{i}", json={"body": f"m{i}"})
        await alice.ok("PUT", f"/rooms/{room}/send/org.example.note/b{i}", json={"note": i})
    middle = (await alice.ok("GET", "/sync"))["next_batch"]
    await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/late", json={"body": "late"})
    only_messages = json.dumps({"types": ["m.room.message"]})
    page = await alice.ok(
        "GET",
        f"/rooms/{room}/messages",
        params={"dir": "f", "from": start, "to": middle, "filter": only_messages},
    )
    assert [e["content"]["body"] for e in page["chunk"]] == ["m0", "m1", "m2"]


async def test_full_state_sync_resends_the_room_state(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Salle"}))["room_id"]
    token = (await alice.ok("GET", "/sync"))["next_batch"]
    quiet = await alice.ok("GET", "/sync", params={"since": token})
    assert room not in quiet.get("rooms", {}).get("join", {})
    full = await alice.ok("GET", "/sync", params={"since": token, "full_state": "true"})
    entry = full["rooms"]["join"][room]
    types = {e["type"] for e in entry["state"]["events"] + entry["timeline"]["events"]}
    assert {"m.room.create", "m.room.name", "m.room.power_levels"} <= types


async def test_well_known_points_clients_at_the_public_base_url(client):
    response = await client.get("/.well-known/matrix/client")
    assert response.status_code == 200
    assert response.json()["m.homeserver"]["base_url"].startswith("http")


async def test_restricted_room_admits_members_of_the_allowed_room_only(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    eve = await user_factory("eve")
    space = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{space}", json={})
    room = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    rules = {"join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": space}]}
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.join_rules", json=rules)
    await bob.ok("POST", f"/join/{room}", json={})
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert member["membership"] == "join"
    assert member["join_authorised_via_users_server"] == alice.user_id
    refused = await eve.request("POST", f"/join/{room}", json={})
    assert refused.status_code == 403
