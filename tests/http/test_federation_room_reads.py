"""Other servers read a room's DAG: event, state, state_ids, event_auth, backfill,
get_missing_events; only servers with a user in the room, and history hidden from them
comes back redacted."""

import pytest

from sceau.protocol.event_format import auth_event_ids
from sceau.services.events import EventSpec
from tests.http.federation_support import (
    REMOTE,
    STRANGER,
    STRANGER_KEY,
    check_shape,
    federation_overrides,
    signed,
)
from tests.services.federation_support import CREATOR, RemoteServer, remote_join

V1 = "/_matrix/federation/v1"
BOB = f"@bob:{REMOTE}"


@pytest.fixture
def config_overrides():
    return federation_overrides(allow=[REMOTE, STRANGER])


def _remote() -> RemoteServer:
    return RemoteServer(REMOTE, b"\x21" * 32, "remote")


async def _shared_room(services, *, history: str = "shared") -> tuple[str, str, list[str]]:
    """A room here that @bob of REMOTE joined (through the receive pipeline)."""
    room_id = await services.rooms.create_room(
        CREATOR,
        {
            "preset": "public_chat",
            "initial_state": [
                {"type": "m.room.history_visibility", "content": {"history_visibility": history}}
            ],
        },
    )
    before = [
        await services.events.send(room_id, EventSpec("m.room.message", {"body": f"m{i}"}, CREATOR))
        for i in range(3)
    ]
    _version, join_id, join = await remote_join(services, _remote(), room_id, BOB)
    result = await services.federation_rooms.pipeline.receive_pdus(REMOTE, [join])
    assert result == {join_id: None}
    return room_id, join_id, before


async def test_a_server_in_the_room_gets_an_event_and_the_state_before_it(client, services):
    room_id, join_id, before = await _shared_room(services)
    response = await signed(client, "GET", f"{V1}/event/{before[0]}")
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v1/event/{eventId}", "GET", response)
    assert response.json()["pdus"][0]["content"] == {"body": "m0"}

    response = await signed(client, "GET", f"{V1}/state_ids/{room_id}", query={"event_id": join_id})
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v1/state_ids/{roomId}", "GET", response)
    ids = response.json()
    current = await services.stores.state.current_state_ids(room_id)
    # The state before the join: everything now but Bob's membership.
    assert set(ids["pdu_ids"]) == {eid for key, eid in current.items() if key[1] != BOB}
    assert join_id not in ids["pdu_ids"]

    response = await signed(client, "GET", f"{V1}/state/{room_id}", query={"event_id": join_id})
    assert response.status_code == 200
    check_shape("/_matrix/federation/v1/state/{roomId}", "GET", response)
    assert len(response.json()["pdus"]) == len(ids["pdu_ids"])


async def test_event_auth_returns_the_whole_auth_chain(client, services):
    room_id, join_id, _ = await _shared_room(services)
    response = await signed(client, "GET", f"{V1}/event_auth/{room_id}/{join_id}")
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v1/event_auth/{roomId}/{eventId}", "GET", response)
    chain = response.json()["auth_chain"]
    types = {e["type"] for e in chain}
    assert {"m.room.create", "m.room.power_levels", "m.room.join_rules"} <= types
    join = (await services.stores.events.get_event(join_id)).pdu
    assert len(chain) >= len(auth_event_ids(join))
    assert all(e["room_id"] == room_id for e in chain if e["type"] != "m.room.create")


async def test_backfill_walks_back_from_the_given_events(client, services):
    room_id, join_id, _before = await _shared_room(services)
    response = await signed(
        client, "GET", f"{V1}/backfill/{room_id}", query={"v": [join_id], "limit": 3}
    )
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v1/backfill/{roomId}", "GET", response)
    pdus = response.json()["pdus"]
    assert len(pdus) == 3
    assert [p.get("content", {}).get("body") for p in pdus[1:]] == ["m2", "m1"]


async def test_get_missing_events_fills_the_gap_oldest_first(client, services):
    room_id, join_id, _before = await _shared_room(services)
    later = [
        await services.events.send(room_id, EventSpec("m.room.message", {"body": f"n{i}"}, CREATOR))
        for i in range(3)
    ]
    response = await signed(
        client,
        "POST",
        f"{V1}/get_missing_events/{room_id}",
        body={"earliest_events": [join_id], "latest_events": [later[-1]], "limit": 10},
    )
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v1/get_missing_events/{roomId}", "POST", response)
    assert [e["content"]["body"] for e in response.json()["events"]] == ["n0", "n1"]


async def test_a_server_with_nobody_in_the_room_is_refused(client, services):
    room_id, join_id, before = await _shared_room(services)
    for method, path, kwargs in [
        ("GET", f"{V1}/event/{before[0]}", {}),
        ("GET", f"{V1}/state_ids/{room_id}", {"query": {"event_id": join_id}}),
        ("GET", f"{V1}/event_auth/{room_id}/{join_id}", {}),
        ("GET", f"{V1}/backfill/{room_id}", {"query": {"v": [join_id]}}),
    ]:
        response = await signed(client, method, path, origin=STRANGER, key=STRANGER_KEY, **kwargs)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["errcode"] == "M_FORBIDDEN"


async def test_history_hidden_from_the_server_comes_back_redacted(client, services):
    room_id, _join_id, before = await _shared_room(services, history="joined")
    response = await signed(client, "GET", f"{V1}/event/{before[0]}")
    assert response.status_code == 200
    assert response.json()["pdus"][0]["content"] == {}
    after = await services.events.send(
        room_id, EventSpec("m.room.message", {"body": "seen"}, CREATOR)
    )
    response = await signed(client, "GET", f"{V1}/event/{after}")
    assert response.json()["pdus"][0]["content"] == {"body": "seen"}


async def test_unsigned_and_malformed_requests_get_the_spec_errors(client, services):
    room_id, join_id, _ = await _shared_room(services)
    response = await client.get(f"{V1}/state_ids/{room_id}?event_id={join_id}")
    assert response.status_code == 401 and response.json()["errcode"] == "M_UNAUTHORIZED"
    response = await signed(client, "GET", f"{V1}/state_ids/{room_id}")
    assert response.status_code == 400 and response.json()["errcode"] == "M_MISSING_PARAM"
    response = await signed(
        client, "POST", f"{V1}/get_missing_events/{room_id}", body={"earliest_events": "x"}
    )
    assert response.status_code == 400 and response.json()["errcode"] == "M_BAD_JSON"
    response = await signed(client, "GET", f"{V1}/event/$nope")
    assert response.status_code == 404 and response.json()["errcode"] == "M_NOT_FOUND"
