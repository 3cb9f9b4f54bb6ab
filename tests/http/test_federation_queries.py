"""Queries of other servers: profile, directory, user devices, keys query/claim, publicRooms."""

import pytest

from tests.http.federation_support import REMOTE, check_shape, federation_overrides, signed
from tests.http.test_keys_helpers import upload_device

V1 = "/_matrix/federation/v1"


@pytest.fixture
def config_overrides():
    return federation_overrides()


async def test_query_profile_answers_a_local_users_profile(client, user_factory):
    alice = await user_factory("alice")
    await alice.ok("PUT", f"/profile/{alice.user_id}/displayname", json={"displayname": "Alice"})
    response = await signed(client, "GET", V1 + "/query/profile", query={"user_id": alice.user_id})
    assert response.status_code == 200
    check_shape(V1 + "/query/profile", "GET", response)
    assert response.json() == {"displayname": "Alice"}
    one = await signed(
        client,
        "GET",
        V1 + "/query/profile",
        query={"user_id": alice.user_id, "field": "displayname"},
    )
    assert one.json() == {"displayname": "Alice"}


@pytest.mark.parametrize(
    ("query", "status", "errcode"),
    [
        ({}, 400, "M_MISSING_PARAM"),
        ({"user_id": "nobody"}, 400, "M_INVALID_PARAM"),
        ({"user_id": "@ghost:test.local"}, 404, "M_NOT_FOUND"),
        ({"user_id": f"@bob:{REMOTE}"}, 404, "M_NOT_FOUND"),
        ({"user_id": "@ghost:test.local", "field": "email"}, 400, "M_INVALID_PARAM"),
    ],
)
async def test_query_profile_errors(client, query, status, errcode):
    response = await signed(client, "GET", V1 + "/query/profile", query=query)
    assert (response.status_code, response.json()["errcode"]) == (status, errcode)


async def test_query_directory_resolves_a_local_alias(client, user_factory):
    alice = await user_factory("alice")
    room_id = (await alice.ok("POST", "/createRoom", json={"room_alias_name": "agents"}))["room_id"]
    response = await signed(
        client, "GET", V1 + "/query/directory", query={"room_alias": "#agents:test.local"}
    )
    assert response.status_code == 200
    check_shape(V1 + "/query/directory", "GET", response)
    assert response.json() == {"room_id": room_id, "servers": ["test.local"]}
    missing = await signed(
        client, "GET", V1 + "/query/directory", query={"room_alias": "#nope:test.local"}
    )
    assert (missing.status_code, missing.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_user_devices_lists_devices_with_keys(client, user_factory):
    alice = await user_factory("alice")
    device = await upload_device(alice)
    response = await signed(client, "GET", V1 + f"/user/devices/{alice.user_id}")
    assert response.status_code == 200, response.text
    check_shape(V1 + "/user/devices/{userId}", "GET", response)
    body = response.json()
    assert body["user_id"] == alice.user_id
    (entry,) = body["devices"]
    assert entry["device_id"] == alice.device_id
    assert entry["keys"]["keys"] == device.device_keys()["keys"]
    unknown = await signed(client, "GET", V1 + "/user/devices/@ghost:test.local")
    assert unknown.status_code == 404


async def test_user_keys_query_and_claim_answer_for_local_users_only(client, user_factory):
    alice = await user_factory("alice")
    await upload_device(alice, otks=2)
    wanted = {"device_keys": {alice.user_id: [], f"@bob:{REMOTE}": []}}
    response = await signed(client, "POST", V1 + "/user/keys/query", body=wanted)
    assert response.status_code == 200
    check_shape(V1 + "/user/keys/query", "POST", response)
    assert list(response.json()["device_keys"]) == [alice.user_id]
    claim = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    first = await signed(client, "POST", V1 + "/user/keys/claim", body=claim)
    check_shape(V1 + "/user/keys/claim", "POST", first)
    second = await signed(client, "POST", V1 + "/user/keys/claim", body=claim)
    key1 = first.json()["one_time_keys"][alice.user_id][alice.device_id]
    key2 = second.json()["one_time_keys"][alice.user_id][alice.device_id]
    assert key1 and key2 and key1 != key2


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/user/keys/query", {}),
        ("/user/keys/query", {"device_keys": []}),
        ("/user/keys/claim", {"one_time_keys": "x"}),
        ("/publicRooms", {"limit": -1}),
        ("/publicRooms", {"limit": "x"}),
    ],
)
async def test_malformed_query_bodies_are_400(client, path, body):
    response = await signed(client, "POST", V1 + path, body=body)
    assert response.status_code == 400
    assert response.json()["errcode"] in ("M_BAD_JSON", "M_INVALID_PARAM")


async def test_public_rooms_lists_published_rooms(client, user_factory):
    alice = await user_factory("alice")
    await alice.ok("POST", "/createRoom", json={"visibility": "public", "name": "Annuaire"})
    got = await signed(client, "GET", V1 + "/publicRooms", query={"limit": "10"})
    assert got.status_code == 200
    check_shape(V1 + "/publicRooms", "GET", got)
    assert [r["name"] for r in got.json()["chunk"]] == ["Annuaire"]
    posted = await signed(
        client, "POST", V1 + "/publicRooms", body={"filter": {"generic_search_term": "zzz"}}
    )
    check_shape(V1 + "/publicRooms", "POST", posted)
    assert posted.json()["chunk"] == []


async def test_hierarchy_gives_the_room_its_visible_children_and_the_hidden_ones_by_id(
    client, user_factory
):
    alice = await user_factory("alice")
    space = (
        await alice.ok(
            "POST",
            "/createRoom",
            json={
                "preset": "public_chat",
                "name": "Espace",
                "creation_content": {"type": "m.space"},
            },
        )
    )["room_id"]
    public = (
        await alice.ok("POST", "/createRoom", json={"preset": "public_chat", "name": "Public"})
    )["room_id"]
    private = (
        await alice.ok("POST", "/createRoom", json={"preset": "private_chat", "name": "Privé"})
    )["room_id"]
    for child in (public, private):
        await alice.ok(
            "PUT", f"/rooms/{space}/state/m.space.child/{child}", json={"via": ["test.local"]}
        )
    response = await signed(client, "GET", f"{V1}/hierarchy/{space}")
    assert response.status_code == 200, response.text
    check_shape(V1 + "/hierarchy/{roomId}", "GET", response)
    body = response.json()
    assert body["room"]["room_id"] == space
    assert len(body["room"]["children_state"]) == 2
    assert [c["room_id"] for c in body["children"]] == [public]
    assert body["inaccessible_children"] == [private]
    hidden = await signed(client, "GET", f"{V1}/hierarchy/{private}")
    assert (hidden.status_code, hidden.json()["errcode"]) == (404, "M_NOT_FOUND")
