"""GET /v1/rooms/{roomId}/timestamp_to_event: the closest event the user may see, per direction."""

import secrets
from typing import Any

import pytest

from tests.http.spec_shapes_support import check_shape

SPEC_PATH = "/_matrix/client/v1/rooms/{roomId}/timestamp_to_event"
START = 1_800_000_000_000


class Time:
    """The homeserver's wall clock, set by the test (events take their timestamp from it)."""

    def __init__(self, services, monkeypatch) -> None:
        self.now = START
        monkeypatch.setattr(services.clock, "time_ms", lambda: self.now)

    def at(self, offset_ms: int) -> None:
        self.now = START + offset_ms


@pytest.fixture
def clock(services, monkeypatch) -> Time:
    return Time(services, monkeypatch)


async def lookup(user, room: str, query: str):
    return await user.request("GET", f"/_matrix/client/v1/rooms/{room}/timestamp_to_event?{query}")


async def found(user, room: str, ts: int, direction: str) -> Any:
    response = await lookup(user, room, f"ts={ts}&dir={direction}")
    assert response.status_code == 200, response.text
    check_shape(SPEC_PATH, "GET", response)
    return response.json()


async def not_found(user, room: str, ts: int, direction: str) -> None:
    response = await lookup(user, room, f"ts={ts}&dir={direction}")
    assert response.status_code == 404, response.text
    assert response.json()["errcode"] == "M_NOT_FOUND"
    check_shape(SPEC_PATH, "GET", response)


async def send(user, room: str, body: str = "msg") -> str:
    path = f"/rooms/{room}/send/m.room.message/{secrets.token_hex(4)}"
    return (await user.ok("PUT", path, json={"msgtype": "m.text", "body": body}))["event_id"]


async def create_room(user, visibility: str = "shared", preset: str = "private_chat") -> str:
    state = [{"type": "m.room.history_visibility", "content": {"history_visibility": visibility}}]
    body = {"preset": preset, "initial_state": state}
    return (await user.ok("POST", "/createRoom", json=body))["room_id"]


async def test_each_direction_finds_the_closest_event_counting_the_exact_time(user_factory, clock):
    alice = await user_factory("alice")
    room = await create_room(alice)
    clock.at(1000)
    first = await send(alice, room)
    clock.at(2000)
    second = await send(alice, room)
    assert await found(alice, room, START + 1000, "b") == {
        "event_id": first,
        "origin_server_ts": START + 1000,
    }
    assert (await found(alice, room, START + 1999, "b"))["event_id"] == first
    assert (await found(alice, room, START + 1001, "f"))["event_id"] == second
    assert (await found(alice, room, START + 2000, "f"))["event_id"] == second
    assert (await found(alice, room, START + 5000, "b"))["event_id"] == second


async def test_events_at_the_same_time_are_taken_in_the_order_they_happened(user_factory, clock):
    alice = await user_factory("alice")
    room = await create_room(alice)
    clock.at(1000)
    early, late = await send(alice, room), await send(alice, room)
    assert (await found(alice, room, START + 1000, "f"))["event_id"] == early
    assert (await found(alice, room, START + 1000, "b"))["event_id"] == late


async def test_state_events_count_and_nothing_beyond_the_ends_is_404(user_factory, clock):
    alice = await user_factory("alice")
    room = await create_room(alice)
    first = await found(alice, room, -5, "f")
    assert first["origin_server_ts"] == START
    event = await alice.ok("GET", f"/rooms/{room}/event/{first['event_id']}")
    assert event["type"] == "m.room.create"
    await not_found(alice, room, START - 1, "b")
    await not_found(alice, room, START + 1, "f")


async def test_events_hidden_by_history_visibility_are_skipped(user_factory, clock):
    """'joined' history hides what came between the setting and one's join.

    The room's first events came before the history visibility event, under
    the default ('shared'), so they stay visible.
    """
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await create_room(alice, "joined", "public_chat")
    clock.at(1000)
    hidden = await send(alice, room, "before bob")
    clock.at(2000)
    await bob.ok("POST", f"/join/{room}", json={})
    clock.at(3000)
    after = await send(alice, room, "after bob")
    assert (await found(alice, room, START + 1500, "b"))["event_id"] == hidden
    set_up = await found(bob, room, START + 1500, "b")
    assert set_up["origin_server_ts"] == START
    own_join = await found(bob, room, START + 1, "f")
    assert own_join["origin_server_ts"] == START + 2000
    assert (await found(bob, room, START + 2500, "f"))["event_id"] == after


async def test_shared_history_is_visible_to_later_members(user_factory, clock):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await create_room(alice, "shared", "public_chat")
    clock.at(1000)
    before = await send(alice, room, "before bob")
    clock.at(2000)
    await bob.ok("POST", f"/join/{room}", json={})
    assert (await found(bob, room, START + 1500, "b"))["event_id"] == before


async def test_a_member_who_left_sees_nothing_after_leaving(user_factory, clock):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await create_room(alice, "shared", "public_chat")
    clock.at(1000)
    await bob.ok("POST", f"/join/{room}", json={})
    clock.at(2000)
    during = await send(alice, room, "while bob is here")
    clock.at(3000)
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    clock.at(4000)
    await send(alice, room, "after bob left")
    await not_found(bob, room, START + 3500, "f")
    assert (await found(bob, room, START + 4500, "b"))["origin_server_ts"] == START + 3000
    assert (await found(bob, room, START + 2500, "b"))["event_id"] == during


async def test_many_hidden_events_are_scanned_in_batches(user_factory, clock, monkeypatch):
    monkeypatch.setattr("sceau.services.timeline.TIMESTAMP_BATCH", 2)
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await create_room(alice, "joined", "public_chat")
    for offset in range(1, 8):
        clock.at(offset)
        await send(alice, room)
    clock.at(100)
    await bob.ok("POST", f"/join/{room}", json={})
    assert (await found(bob, room, START + 1, "f"))["origin_server_ts"] == START + 100


async def test_outsiders_are_forbidden_whether_the_room_exists_or_not(user_factory, clock):
    alice, carol = await user_factory("alice"), await user_factory("carol")
    room = await create_room(alice, "shared", "public_chat")
    for room_id in (room, "!nosuchroom:test.local"):
        response = await lookup(carol, room_id, f"ts={START}&dir=f")
        assert response.status_code == 403, response.text
        assert response.json()["errcode"] == "M_FORBIDDEN"


async def test_world_readable_rooms_answer_outsiders(user_factory, clock):
    alice, carol = await user_factory("alice"), await user_factory("carol")
    room = await create_room(alice, "world_readable", "public_chat")
    clock.at(1000)
    message = await send(alice, room)
    assert (await found(carol, room, START + 1000, "b"))["event_id"] == message


@pytest.mark.parametrize(
    ("query", "errcode"),
    [
        ("dir=f", "M_MISSING_PARAM"),
        ("ts=1", "M_MISSING_PARAM"),
        ("ts=abc&dir=f", "M_INVALID_PARAM"),
        ("ts=1.5&dir=f", "M_INVALID_PARAM"),
        ("ts=1e3&dir=f", "M_INVALID_PARAM"),
        ("ts=1_000&dir=f", "M_INVALID_PARAM"),
        ("ts=%201&dir=f", "M_INVALID_PARAM"),
        ("ts=&dir=f", "M_INVALID_PARAM"),
        (f"ts={2**63}&dir=f", "M_INVALID_PARAM"),
        (f"ts=-{2**63 + 1}&dir=f", "M_INVALID_PARAM"),
        ("ts=1&dir=x", "M_INVALID_PARAM"),
        ("ts=1&dir=F", "M_INVALID_PARAM"),
        ("ts=1&dir=", "M_INVALID_PARAM"),
    ],
)
async def test_bad_ts_or_dir_is_refused(user_factory, query, errcode):
    alice = await user_factory("alice")
    room = await create_room(alice)
    response = await lookup(alice, room, query)
    assert response.status_code == 400, response.text
    assert response.json()["errcode"] == errcode


async def test_timestamp_to_event_needs_an_access_token(client):
    response = await client.get(
        "/_matrix/client/v1/rooms/!r:test.local/timestamp_to_event?ts=1&dir=f"
    )
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_MISSING_TOKEN"
