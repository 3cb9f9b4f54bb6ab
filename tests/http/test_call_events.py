"""Call signalling and group call events: stored and synced like any event, joinable by members."""

import secrets

import pytest

GARBAGE_INVITES = [
    {},
    {"call_id": 5, "offer": "not an offer", "version": {"x": []}, "lifetime": "soon"},
    {"call_id": "c1", "offer": {"type": "answer", "sdp": ["v=0"]}, "party_id": None},
    {"nested": {"deeper": [1, -7, True, None, "é\u0301"]}},
]


async def shared_room(alice, bob, preset: str = "private_chat") -> str:
    body = {"preset": preset, "invite": [bob.user_id]}
    room = (await alice.ok("POST", "/createRoom", json=body))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    return room


def timeline(sync: dict, room: str) -> list[dict]:
    return sync["rooms"]["join"][room]["timeline"]["events"]


@pytest.mark.parametrize("content", GARBAGE_INVITES)
async def test_a_malformed_call_invite_is_stored_and_synced_unchanged(user_factory, content):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await shared_room(alice, bob)
    sent = await alice.ok(
        "PUT", f"/rooms/{room}/send/m.call.invite/{secrets.token_hex(4)}", json=content
    )
    synced = [
        e for e in timeline(await bob.ok("GET", "/sync"), room) if e["type"] == "m.call.invite"
    ]
    assert [(e["event_id"], e["content"]) for e in synced] == [(sent["event_id"], content)]
    fetched = await bob.ok("GET", f"/rooms/{room}/event/{sent['event_id']}")
    assert fetched["content"] == content


async def test_other_call_signalling_events_with_bad_content_sync_too(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await shared_room(alice, bob)
    sent = {}
    for event_type in ("m.call.candidates", "m.call.answer", "m.call.hangup", "m.call.reject"):
        content = {"call_id": [event_type], "candidates": "none", "reason": 42}
        response = await bob.ok(
            "PUT", f"/rooms/{room}/send/{event_type}/{secrets.token_hex(4)}", json=content
        )
        sent[response["event_id"]] = (event_type, content)
    events = timeline(await alice.ok("GET", "/sync"), room)
    assert {e["event_id"]: (e["type"], e["content"]) for e in events if e["event_id"] in sent} == (
        sent
    )


@pytest.mark.parametrize("member_type", ["m.call.member", "org.matrix.msc3401.call.member"])
async def test_any_member_of_a_new_room_may_join_a_group_call(user_factory, member_type):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await shared_room(alice, bob, preset="public_chat")
    levels = await alice.ok("GET", f"/rooms/{room}/state/m.room.power_levels")
    assert levels["events"][member_type] == 0
    membership = {"m.calls": [{"m.call_id": "g1", "m.devices": []}]}
    await bob.ok("PUT", f"/rooms/{room}/state/{member_type}/{bob.user_id}", json=membership)
    assert await alice.ok("GET", f"/rooms/{room}/state/{member_type}/{bob.user_id}") == membership
    # A member still cannot write another member's call membership.
    response = await bob.request(
        "PUT", f"/rooms/{room}/state/{member_type}/{alice.user_id}", json=membership
    )
    assert response.status_code == 403 and response.json()["errcode"] == "M_FORBIDDEN"


async def test_a_member_may_start_and_end_a_group_call_in_a_private_room(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await shared_room(alice, bob)
    call = {"m.intent": "m.room", "m.type": "m.video"}
    await bob.ok("PUT", f"/rooms/{room}/state/org.matrix.msc3401.call/g1", json=call)
    ended = {**call, "m.terminated": "call_ended"}
    await bob.ok("PUT", f"/rooms/{room}/state/org.matrix.msc3401.call/g1", json=ended)
    assert await alice.ok("GET", f"/rooms/{room}/state/org.matrix.msc3401.call/g1") == ended


async def test_starting_a_group_call_in_a_public_room_needs_a_moderator(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await shared_room(alice, bob, preset="public_chat")
    call = {"m.intent": "m.room", "m.type": "m.voice"}
    response = await bob.request("PUT", f"/rooms/{room}/state/m.call/g1", json=call)
    assert response.status_code == 403 and response.json()["errcode"] == "M_FORBIDDEN"
    await alice.ok("PUT", f"/rooms/{room}/state/m.call/g1", json=call)


async def test_malformed_call_member_state_is_kept_and_synced(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await shared_room(alice, bob)
    content = {"m.calls": "all of them", "memberships": [None, 3]}
    await bob.ok(
        "PUT", f"/rooms/{room}/state/org.matrix.msc3401.call.member/{bob.user_id}", json=content
    )
    events = timeline(await alice.ok("GET", "/sync"), room)
    [member] = [e for e in events if e["type"] == "org.matrix.msc3401.call.member"]
    assert (member["state_key"], member["content"]) == (bob.user_id, content)
