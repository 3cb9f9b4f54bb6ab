"""Two Sceau servers in one process, federating through their real HTTP apps.

Each server has its own database; their federation clients reach each
other's ASGI app through an in-memory transport (the TLS and process
boundary is what tests/e2e adds). Joins by room ID and by alias, invites
across servers, messages both ways, and leaving, go through the real
handshakes, the receive pipeline and the outbound queue.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sceau.clock import RealClock
from sceau.homeserver import Services, build_app, build_services
from sceau.protocol.signing import generate_signing_key
from sceau.services.events import EventSpec
from sceau.storage.database import SqliteDatabase
from sceau.storage.migrations import migrate
from tests.conftest import FAST_HASHER, make_config

A = "hs-a.test:8448"
B = "hs-b.test:8448"
KEYS = {A: generate_signing_key(b"\x31" * 32, "a"), B: generate_signing_key(b"\x32" * 32, "b")}


class Router(httpx.AsyncBaseTransport):
    """Requests to https://<server>/... go to that server's app."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = f"{request.url.host}:{request.url.port}"
        if name in self.down or name not in self.apps:
            raise httpx.ConnectError(f"{name} is down", request=request)
        return await self.apps[name].handle_async_request(request)


def _config(tmp_path: Path, name: str, other: str) -> Any:
    other_key = KEYS[other]
    return make_config(
        tmp_path,
        server_name=name,
        federation={
            "enabled": True,
            "allow": [other],
            "pinned_keys": {other: {other_key.key_id: other_key.verify_key_base64}},
            "min_retry_interval_ms": 20,
            "max_retry_interval_ms": 200,
        },
    )


async def _server(tmp_path: Path, name: str, other: str, router: Router) -> Services:
    folder = tmp_path / name.split(".")[0]
    folder.mkdir()
    db = SqliteDatabase(str(folder / "hs.db"))
    await migrate(db)
    services = await build_services(
        _config(folder, name, other),
        clock=RealClock(),
        db=db,
        signing_key=KEYS[name],
        password_hasher=FAST_HASHER,
    )
    services.federation.client._http = httpx.AsyncClient(transport=router)
    router.apps[name] = httpx.ASGITransport(app=build_app(services))
    await services.start()
    return services


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[tuple[Services, Services, Router]]:
    router = Router()
    a = await _server(tmp_path, A, B, router)
    b = await _server(tmp_path, B, A, router)
    yield a, b, router
    for services in (a, b):
        await services.stop()
        await services.stores.db.close()


async def _user(services: Services, localpart: str) -> str:
    user_id = f"@{localpart}:{services.config.server_name}"
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.insert_user(txn, user_id, None, services.clock.time_ms())
    return user_id


async def _eventually(check: Any, what: str) -> Any:
    """Poll until ``check()`` returns something truthy (delivery is asynchronous)."""
    for _ in range(400):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


async def _bodies(services: Services, room_id: str) -> list[str]:
    rows = await services.stores.events.room_events(room_id, limit=100, newest_first=False)
    return [e.content.get("body") for e in rows if e.type == "m.room.message"]


async def test_a_user_joins_a_room_of_the_other_server_and_messages_cross_both_ways(servers):
    a, b, _router = servers
    alice = await _user(a, "alice")
    bob = await _user(b, "bob")
    room_id = await a.rooms.create_room(alice, {"preset": "public_chat", "name": "Ministries"})
    await b.rooms.join(bob, room_id, servers=[A])
    assert await a.stores.state.membership(room_id, bob) == "join"
    assert await b.stores.state.membership(room_id, bob) == "join"
    assert await b.stores.state.membership(room_id, alice) == "join"
    name = await b.stores.state.current_state_event_id(room_id, "m.room.name", "")
    assert name is not None

    await a.events.send(room_id, EventSpec("m.room.message", {"body": "from A"}, alice))
    await _eventually(lambda: _has(b, room_id, "from A"), "A's message on B")
    await b.events.send(room_id, EventSpec("m.room.message", {"body": "from B"}, bob))
    await _eventually(lambda: _has(a, room_id, "from B"), "B's message on A")
    # Both servers hold the same single extremity once quiet.
    ext_a = await a.stores.rooms.forward_extremities(room_id)
    ext_b = await b.stores.rooms.forward_extremities(room_id)
    assert ext_a == ext_b and len(ext_a) == 1

    await b.rooms.leave(bob, room_id)
    await _eventually(lambda: _membership_is(a, room_id, bob, "leave"), "Bob's leave reaching A")


async def _has(services: Services, room_id: str, body: str) -> bool:
    return body in await _bodies(services, room_id)


async def _membership_is(services: Services, room_id: str, user: str, membership: str) -> bool:
    return await services.stores.state.membership(room_id, user) == membership


async def test_a_join_by_alias_asks_the_alias_server_s_directory(servers):
    a, b, _router = servers
    alice = await _user(a, "alice")
    bob = await _user(b, "bob")
    room_id = await a.rooms.create_room(
        alice, {"preset": "public_chat", "room_alias_name": "agents"}
    )
    joined = await b.rooms.join(bob, f"#agents:{A}")
    assert joined == room_id
    assert await a.stores.state.membership(room_id, bob) == "join"


async def test_an_invite_crosses_servers_and_the_invitee_joins_or_rejects(servers):
    a, b, _router = servers
    alice = await _user(a, "alice")
    carol = await _user(b, "carol")
    dave = await _user(b, "dave")
    room_id = await a.rooms.create_room(alice, {"preset": "private_chat", "name": "Private"})
    await a.rooms.invite(alice, room_id, carol)
    await a.rooms.invite(alice, room_id, dave)
    assert await b.stores.state.membership(room_id, carol) == "invite"
    invite_id = await a.stores.state.current_state_event_id(room_id, "m.room.member", carol)
    invite = (await a.stores.events.get_event(invite_id)).pdu
    assert set(invite["signatures"]) == {A, B}  # countersigned by the invitee's server

    await b.rooms.join(carol, room_id)  # through the inviting server
    assert await a.stores.state.membership(room_id, carol) == "join"
    assert await b.stores.state.membership(room_id, carol) == "join"

    await b.rooms.leave(dave, room_id)  # B now holds the room: an ordinary leave, sent to A
    await _eventually(lambda: _membership_is(a, room_id, dave, "leave"), "Dave's rejection on A")


async def test_an_invite_rejected_before_anyone_joined_goes_through_the_inviting_server(servers):
    a, b, _router = servers
    alice = await _user(a, "alice")
    dave = await _user(b, "dave")
    room_id = await a.rooms.create_room(alice, {"preset": "private_chat"})
    await a.rooms.invite(alice, room_id, dave)
    await b.rooms.leave(dave, room_id)  # make_leave/send_leave through A
    assert await a.stores.state.membership(room_id, dave) == "leave"
    assert await b.stores.state.membership(room_id, dave) == "leave"


async def test_a_join_through_an_unreachable_server_fails_naming_it(servers):
    a, b, router = servers
    alice = await _user(a, "alice")
    bob = await _user(b, "bob")
    room_id = await a.rooms.create_room(alice, {"preset": "public_chat"})
    router.down.add(A)
    from sceau.errors import MatrixError

    with pytest.raises(MatrixError) as caught:
        await b.rooms.join(bob, room_id, servers=[A])
    assert A in caught.value.error
    assert await b.stores.state.membership(room_id, bob) is None


async def test_paging_back_past_the_join_backfills_history_from_the_other_server(servers):
    from sceau.protocol.filters import RoomEventFilter

    a, b, _router = servers
    alice = await _user(a, "alice")
    bob = await _user(b, "bob")
    room_id = await a.rooms.create_room(alice, {"preset": "public_chat"})
    for n in range(12):
        await a.events.send(room_id, EventSpec("m.room.message", {"body": f"old {n}"}, alice))
    await b.rooms.join(bob, room_id, servers=[A])
    assert await _bodies(b, room_id) == []  # the join brought the state, not the messages

    page = await b.timeline.messages(
        bob,
        None,
        room_id,
        from_token=None,
        to_token=None,
        backwards=True,
        limit=8,
        event_filter=RoomEventFilter(),
    )
    bodies = [e["content"].get("body") for e in page["chunk"] if e["type"] == "m.room.message"]
    assert bodies == [f"old {n}" for n in range(11, 4, -1)]
    page = await b.timeline.messages(
        bob,
        None,
        room_id,
        from_token=page["end"],
        to_token=None,
        backwards=True,
        limit=20,
        event_filter=RoomEventFilter(),
    )
    bodies = [e["content"].get("body") for e in page["chunk"] if e["type"] == "m.room.message"]
    assert bodies == [f"old {n}" for n in range(4, -1, -1)]


async def test_backfilled_events_are_stored_with_the_state_before_each_of_them(servers):
    from sceau.protocol.filters import RoomEventFilter

    a, b, _router = servers
    alice = await _user(a, "alice")
    bob = await _user(b, "bob")
    room_id = await a.rooms.create_room(alice, {"preset": "public_chat"})
    sent: list[str] = []
    for phase in ("old", "mid", "new"):
        if phase != "old":
            sent.append(
                await a.events.send(
                    room_id, EventSpec("m.room.topic", {"topic": phase}, alice, state_key="")
                )
            )
        for n in range(3):
            body = {"body": f"{phase} {n}"}
            sent.append(await a.events.send(room_id, EventSpec("m.room.message", body, alice)))
    await b.rooms.join(bob, room_id, servers=[A])
    page = await b.timeline.messages(
        bob,
        None,
        room_id,
        from_token=None,
        to_token=None,
        backwards=True,
        limit=30,
        event_filter=RoomEventFilter(),
    )
    assert {e["event_id"] for e in page["chunk"]} >= set(sent)
    # Each backfilled event has, on B, the state A had just before it, not
    # B's current state (the topics came with the join's state instead).
    from sceau.services.remote_rooms import DEEP_HISTORY

    for event_id in sent:
        here = await b.stores.events.get_event(event_id)
        there = await a.stores.events.get_event(event_id)
        assert here is not None and there is not None
        if here.stream_pos <= DEEP_HISTORY:
            assert here.type == "m.room.topic"
            continue
        seen_here = await b.stores.state.get_state_ids(here.state_group)
        seen_there = await a.stores.state.get_state_ids(there.state_group)
        assert dict(seen_here) == dict(seen_there), event_id
    oldest = await b.stores.events.get_event(sent[0])
    assert ("m.room.topic", "") not in await b.stores.state.get_state_ids(oldest.state_group)


async def _restricted_room(a: Services, alice: str, allowed: str, **extra: Any) -> str:
    rules = {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": allowed}],
    }
    body = {
        "preset": "private_chat",
        "initial_state": [{"type": "m.room.join_rules", "state_key": "", "content": rules}],
        **extra,
    }
    return await a.rooms.create_room(alice, body)


async def test_a_remote_user_joins_a_restricted_room_through_a_member_of_the_allowed_room(
    servers,
):
    from sceau.errors import MatrixError

    a, b, _router = servers
    alice = await _user(a, "alice")
    bob = await _user(b, "bob")
    space = await a.rooms.create_room(alice, {"preset": "public_chat"})
    room_id = await _restricted_room(a, alice, space)
    with pytest.raises(MatrixError) as caught:
        await b.rooms.join(bob, room_id, servers=[A])
    assert caught.value.status == 403
    await b.rooms.join(bob, space, servers=[A])
    await _eventually(lambda: _membership_is(a, space, bob, "join"), "bob in the space on A")
    await b.rooms.join(bob, room_id, servers=[A])
    assert await a.stores.state.membership(room_id, bob) == "join"
    member_id = await a.stores.state.current_state_event_id(room_id, "m.room.member", bob)
    join = (await a.stores.events.get_event(member_id)).pdu
    assert join["content"]["join_authorised_via_users_server"] == alice
    assert A in join["signatures"] and B in join["signatures"]
    # B holds the same, countersigned event.
    assert await b.stores.state.membership(room_id, bob) == "join"
    assert A in (await b.stores.events.get_event(member_id)).pdu["signatures"]


async def test_make_join_of_a_restricted_room_says_why_it_cannot_vouch(servers):
    from sceau.errors import MatrixError

    a, b, _router = servers
    alice = await _user(a, "alice")
    bob = await _user(b, "bob")
    handshake = a.federation_rooms.handshake
    space = await a.rooms.create_room(alice, {"preset": "public_chat"})
    elsewhere = await _restricted_room(a, alice, "!unknown:" + B)
    with pytest.raises(MatrixError) as caught:
        await handshake.make(B, elsewhere, bob, "join", ["11"])
    assert (caught.value.status, caught.value.errcode) == (400, "M_UNABLE_TO_AUTHORISE_JOIN")
    nobody_invites = await _restricted_room(
        a, alice, space, power_level_content_override={"invite": 101}
    )
    await b.rooms.join(bob, space, servers=[A])
    await _eventually(lambda: _membership_is(a, space, bob, "join"), "bob in the space on A")
    with pytest.raises(MatrixError) as caught:
        await handshake.make(B, nobody_invites, bob, "join", ["11"])
    assert (caught.value.status, caught.value.errcode) == (400, "M_UNABLE_TO_GRANT_JOIN")
    answer = await handshake.make(B, await _restricted_room(a, alice, space), bob, "join", ["11"])
    assert answer["event"]["content"]["join_authorised_via_users_server"] == alice
