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


async def _share_room(server, owner, remote_user_id: str) -> str:
    """A room of ``owner`` that ``remote_user_id`` counts as joined to (as a federated join
    would leave it; the join itself is the event graph's)."""
    room_id = (await owner.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    async with server.services.stores.db.transaction() as txn:
        await txn.execute(
            "INSERT INTO current_state (room_id, type, state_key, event_id, membership, stream_pos)"
            " VALUES (?, 'm.room.member', ?, ?, 'join', 0)",
            room_id,
            remote_user_id,
            "$join" + remote_user_id,
        )
    return room_id


async def test_a_device_change_is_pushed_and_the_other_side_queries_fresh_keys(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    await _share_room(a, alice, bob.user_id)
    await _share_room(b, bob, alice.user_id)
    since = (await alice.ok("GET", "/sync?timeout=0"))["next_batch"]
    device = await upload_device(bob)
    await b.flush_to(a)
    synced = await alice.ok("GET", f"/sync?timeout=0&since={since}")
    assert bob.user_id in synced["device_lists"]["changed"]
    keys = await alice.ok("POST", "/keys/query", json={"device_keys": {bob.user_id: []}})
    assert keys["device_keys"][bob.user_id][bob.device_id]["keys"] == device.device_keys()["keys"]


async def test_typing_crosses_into_a_shared_room(servers):
    a, b, _ = servers
    alice, bob = await a.user("alice"), await b.user("bob")
    room_id = await _share_room(a, alice, bob.user_id)
    # B's view of the same room: bob and alice joined (as a federated join leaves it).
    async with b.services.stores.db.transaction() as txn:
        for user_id in (alice.user_id, bob.user_id):
            await txn.execute(
                "INSERT INTO current_state (room_id, type, state_key, event_id, membership,"
                " stream_pos) VALUES (?, 'm.room.member', ?, ?, 'join', 0)",
                room_id,
                user_id,
                "$join" + user_id,
            )
    await bob.ok(
        "PUT", f"/rooms/{room_id}/typing/{bob.user_id}", json={"typing": True, "timeout": 10000}
    )
    await b.flush_to(a)
    assert a.services.typing.typing_users(room_id) == [bob.user_id]
    await bob.ok("PUT", f"/rooms/{room_id}/typing/{bob.user_id}", json={"typing": False})
    await b.flush_to(a)
    assert a.services.typing.typing_users(room_id) == []
