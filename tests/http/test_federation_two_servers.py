"""Two in-process servers: remote profiles, keys, to-device, public rooms, aliases, allowlist."""

import pytest

from sceau.storage.federation import ServerKeyStore
from tests.http.test_keys_helpers import upload_device
from tests.http.two_servers import B, server_pair


@pytest.fixture
async def servers(tmp_path):
    async for pair in server_pair(tmp_path):
        yield pair


async def test_profile_of_a_remote_user_is_asked_of_its_server(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    await bob.ok("PUT", f"/profile/{bob.user_id}/displayname", json={"displayname": "Bob B"})
    assert await alice.ok("GET", f"/profile/{bob.user_id}") == {"displayname": "Bob B"}
    missing = await alice.request("GET", f"/profile/@ghost:{B}")
    assert (missing.status_code, missing.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_keys_of_a_remote_user_are_queried_and_claimed_across(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    device = await upload_device(bob, otks=1)
    queried = await alice.ok("POST", "/keys/query", json={"device_keys": {bob.user_id: []}})
    assert queried["failures"] == {}
    assert (
        queried["device_keys"][bob.user_id][bob.device_id]["keys"] == device.device_keys()["keys"]
    )
    claimed = await alice.ok(
        "POST",
        "/keys/claim",
        json={"one_time_keys": {bob.user_id: {bob.device_id: "signed_curve25519"}}},
    )
    assert claimed["failures"] == {}
    (key_id,) = claimed["one_time_keys"][bob.user_id][bob.device_id]
    assert key_id.startswith("signed_curve25519:")


async def test_keys_of_an_unreachable_or_unlisted_server_are_failures_naming_it(servers):
    a, _b, router = servers
    alice = await a.user("alice")
    router.down.add(B)
    wanted = {"device_keys": {f"@bob:{B}": [], "@eve:c.test": [], alice.user_id: []}}
    answer = await alice.ok("POST", "/keys/query", json=wanted)
    assert set(answer["failures"]) == {B, "c.test"}
    assert alice.user_id in answer["device_keys"]


async def test_to_device_reaches_a_remote_users_device(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    messages = {bob.user_id: {bob.device_id: {"algorithm": "m.olm.v1", "body": "secret"}}}
    await alice.ok("PUT", "/sendToDevice/m.room.encrypted/t1", json={"messages": messages})
    await a.flush_to(b)
    events = (await bob.ok("GET", "/sync?timeout=0"))["to_device"]["events"]
    assert events == [
        {
            "type": "m.room.encrypted",
            "sender": alice.user_id,
            "content": {"algorithm": "m.olm.v1", "body": "secret"},
        }
    ]


async def test_to_device_queued_while_the_peer_is_down_arrives_once_it_is_back(servers):
    a, b, router = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    router.down.add(B)
    for n in range(3):
        messages = {bob.user_id: {bob.device_id: {"n": n}}}
        await alice.ok("PUT", f"/sendToDevice/m.x/t{n}", json={"messages": messages})
    assert await a.services.federation.sender.attempt(B) == "failed"
    router.down.discard(B)
    await a.flush_to(b)
    events = (await bob.ok("GET", "/sync?timeout=0"))["to_device"]["events"]
    assert [e["content"]["n"] for e in events] == [0, 1, 2]


async def test_public_rooms_of_a_remote_server(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    await bob.ok("POST", "/createRoom", json={"visibility": "public", "name": "Salon B"})
    listed = await alice.ok("GET", f"/publicRooms?server={B}")
    assert [r["name"] for r in listed["chunk"]] == ["Salon B"]
    posted = await alice.ok(
        "POST", f"/publicRooms?server={B}", json={"filter": {"generic_search_term": "Salon"}}
    )
    assert len(posted["chunk"]) == 1


async def test_alias_of_a_remote_server_resolves_through_its_directory(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    room_id = (await bob.ok("POST", "/createRoom", json={"room_alias_name": "accueil"}))["room_id"]
    assert await alice.ok("GET", f"/directory/room/%23accueil:{B}") == {
        "room_id": room_id,
        "servers": [B],
    }


async def test_servers_off_the_allowlist_are_refused_naming_them(servers):
    a, _b, _ = servers
    alice = await a.user("alice")
    for path in (
        "/profile/@eve:c.test",
        "/publicRooms?server=c.test",
        "/directory/room/%23x:c.test",
    ):
        response = await alice.request("GET", path)
        assert response.status_code == 403, path
        assert "c.test" in response.json()["error"]


async def test_the_senders_key_is_fetched_from_it_and_cached(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    messages = {alice.user_id: {alice.device_id: {"x": 1}}}
    await bob.ok("PUT", "/sendToDevice/m.x/t1", json={"messages": messages})
    await b.flush_to(a)
    await bob.ok("PUT", "/sendToDevice/m.x/t2", json={"messages": messages})
    await b.flush_to(a)
    cached = await ServerKeyStore(a.services.stores.db).for_server(B)
    assert [k.key_id for k in cached] == [b.services.signing_key.key_id]
