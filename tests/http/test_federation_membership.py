"""The resident server's side of the handshakes: make_/send_ join, leave, knock, and
invites from another server shown to the invitee."""

import pytest

from sceau.protocol.event_format import compute_event_id
from sceau.protocol.events import build_pdu, hash_and_sign_event
from sceau.protocol.room_versions import get_room_version
from tests.http.federation_support import (
    REMOTE,
    REMOTE_KEY,
    check_shape,
    federation_overrides,
    signed,
)
from tests.services.federation_support import CREATOR

V1 = "/_matrix/federation/v1"
V2 = "/_matrix/federation/v2"
BOB = f"@bob:{REMOTE}"
ALL_VERSIONS = [str(n) for n in range(1, 13)]


@pytest.fixture
def config_overrides():
    return federation_overrides()


def _sign(template: dict, version_id: str) -> tuple[str, dict]:
    version = get_room_version(version_id)
    pdu = {k: v for k, v in template.items() if k not in ("signatures", "hashes", "unsigned")}
    signed_pdu = hash_and_sign_event(
        pdu, origin=REMOTE, signing_key=REMOTE_KEY, room_version=version
    )
    return compute_event_id(signed_pdu, version), signed_pdu


async def _join(client, room_id: str) -> tuple[str, dict]:
    response = await signed(
        client, "GET", f"{V1}/make_join/{room_id}/{BOB}", query={"ver": ALL_VERSIONS}
    )
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v1/make_join/{roomId}/{userId}", "GET", response)
    answer = response.json()
    event_id, pdu = _sign(answer["event"], answer["room_version"])
    response = await signed(client, "PUT", f"{V2}/send_join/{room_id}/{event_id}", body=pdu)
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v2/send_join/{roomId}/{eventId}", "PUT", response)
    return event_id, response.json()


async def test_a_remote_user_joins_through_make_join_and_send_join(client, services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    event_id, answer = await _join(client, room_id)
    assert await services.stores.state.membership(room_id, BOB) == "join"
    types = {e["type"] for e in answer["state"]}
    assert {"m.room.create", "m.room.power_levels", "m.room.join_rules"} <= types
    assert all(e.get("state_key") != BOB for e in answer["state"])  # the state *before* the join
    assert answer["servers_in_room"] == sorted({"test.local", REMOTE})
    assert answer["members_omitted"] is False
    assert set(await services.stores.rooms.forward_extremities(room_id)) == {event_id}


async def test_make_join_refuses_what_the_room_would_refuse(client, services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "private_chat"})
    response = await signed(
        client, "GET", f"{V1}/make_join/{room_id}/{BOB}", query={"ver": ALL_VERSIONS}
    )
    assert response.status_code == 403 and response.json()["errcode"] == "M_FORBIDDEN"
    public = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    response = await signed(client, "GET", f"{V1}/make_join/{public}/{BOB}", query={"ver": ["1"]})
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION"
    assert response.json()["room_version"] == "11"
    response = await signed(
        client, "GET", f"{V1}/make_join/{public}/@eve:elsewhere.example", query={"ver": ["11"]}
    )
    assert response.status_code == 403
    response = await signed(
        client, "GET", f"{V1}/make_join/!nowhere:test.local/{BOB}", query={"ver": ["11"]}
    )
    assert response.status_code == 404


async def test_send_join_refuses_an_event_that_is_not_the_one_named(client, services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    response = await signed(
        client, "GET", f"{V1}/make_join/{room_id}/{BOB}", query={"ver": ALL_VERSIONS}
    )
    event_id, pdu = _sign(response.json()["event"], "11")
    response = await signed(client, "PUT", f"{V2}/send_join/{room_id}/$other", body=pdu)
    assert response.status_code == 400 and response.json()["errcode"] == "M_BAD_JSON"
    leave = {**response.json(), "content": {"membership": "leave"}}
    response = await signed(client, "PUT", f"{V2}/send_join/{room_id}/{event_id}", body=leave)
    assert response.status_code == 400
    assert await services.stores.state.membership(room_id, BOB) is None


async def test_a_remote_user_leaves_through_make_leave_and_send_leave(client, services):
    room_id = await services.rooms.create_room(CREATOR, {"preset": "public_chat"})
    await _join(client, room_id)
    response = await signed(client, "GET", f"{V1}/make_leave/{room_id}/{BOB}")
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v1/make_leave/{roomId}/{userId}", "GET", response)
    event_id, pdu = _sign(response.json()["event"], response.json()["room_version"])
    response = await signed(client, "PUT", f"{V2}/send_leave/{room_id}/{event_id}", body=pdu)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert await services.stores.state.membership(room_id, BOB) == "leave"


async def test_a_remote_user_knocks_through_make_knock_and_send_knock(client, services):
    room_id = await services.rooms.create_room(
        CREATOR,
        {
            "preset": "private_chat",
            "name": "Knock here",
            "initial_state": [{"type": "m.room.join_rules", "content": {"join_rule": "knock"}}],
        },
    )
    response = await signed(
        client, "GET", f"{V1}/make_knock/{room_id}/{BOB}", query={"ver": ALL_VERSIONS}
    )
    assert response.status_code == 200, response.text
    event_id, pdu = _sign(response.json()["event"], response.json()["room_version"])
    response = await signed(client, "PUT", f"{V1}/send_knock/{room_id}/{event_id}", body=pdu)
    assert response.status_code == 200, response.text
    names = [e["content"].get("name") for e in response.json()["knock_room_state"]]
    assert "Knock here" in names
    assert await services.stores.state.membership(room_id, BOB) == "knock"


async def test_an_invite_from_another_server_is_countersigned_and_shown_to_the_invitee(
    client, services, register
):
    alice = await register("alice")
    room_id = f"!elsewhere:{REMOTE}"
    event_id, invite = _sign(
        {
            "room_id": room_id,
            "sender": BOB,
            "origin": REMOTE,
            "type": "m.room.member",
            "content": {"membership": "invite"},
            "state_key": alice.user_id,
            "prev_events": ["$prev"],
            "auth_events": ["$create", "$power", "$bob"],
            "depth": 5,
            "origin_server_ts": 1_700_000_000_000,
        },
        "11",
    )
    stripped = [
        {
            "type": "m.room.create",
            "state_key": "",
            "sender": BOB,
            "content": {"room_version": "11"},
        },
        {"type": "m.room.name", "state_key": "", "sender": BOB, "content": {"name": "Over there"}},
    ]
    body = {"room_version": "11", "event": invite, "invite_room_state": stripped}
    response = await signed(client, "PUT", f"{V2}/invite/{room_id}/{event_id}", body=body)
    assert response.status_code == 200, response.text
    check_shape("/_matrix/federation/v2/invite/{roomId}/{eventId}", "PUT", response)
    countersigned = response.json()["event"]
    assert set(countersigned["signatures"]) == {REMOTE, "test.local"}

    sync = await alice.ok("GET", "/sync")
    invited = sync["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert {
        "type": "m.room.name",
        "state_key": "",
        "sender": BOB,
        "content": {"name": "Over there"},
    } in invited
    assert any(e["type"] == "m.room.member" and e["state_key"] == alice.user_id for e in invited)


async def test_an_invite_for_a_user_not_here_or_a_version_not_known_is_refused(client, services):
    version = get_room_version("11")
    event_id, invite = build_pdu(
        room_version=version,
        room_id=f"!r:{REMOTE}",
        sender=BOB,
        event_type="m.room.member",
        content={"membership": "invite"},
        state_key="@nobody:test.local",
        prev_events=[],
        auth_events=[],
        depth=5,
        origin_server_ts=1,
        redacts=None,
        origin=REMOTE,
        signing_key=REMOTE_KEY,
    )
    body = {"room_version": "11", "event": invite, "invite_room_state": []}
    response = await signed(client, "PUT", f"{V2}/invite/!r:{REMOTE}/{event_id}", body=body)
    assert response.status_code == 404
    body = {"room_version": "99", "event": invite, "invite_room_state": []}
    response = await signed(client, "PUT", f"{V2}/invite/!r:{REMOTE}/{event_id}", body=body)
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION"
