"""The Synapse-compatible room and event-report admin API: lists, details, members."""

import asyncio
from urllib.parse import quote

import pytest

from tests.conftest import create_local_user
from tests.http.admin_api_support import call, errcode, make_admin, ok


@pytest.fixture
async def admin(services, client):
    return await make_admin(services, client, "root")


@pytest.fixture
async def bob(services, client):
    return await create_local_user(services, client, "bob")


async def make_room(user, name, **extra):
    return (await user.ok("POST", "/createRoom", json={"name": name, **extra}))["room_id"]


async def test_list_rooms_shows_synapse_fields_and_pages(admin, bob):
    ids = [await make_room(bob, name) for name in ("Charlie", "Alpha", "Bravo")]
    first = await ok(admin, "GET", "/v1/rooms", params={"limit": "2"})
    assert first["total_rooms"] == 3 and first["offset"] == 0
    assert [r["name"] for r in first["rooms"]] == ["Alpha", "Bravo"]
    assert first["next_batch"] == 2 and "prev_batch" not in first
    second = await ok(admin, "GET", "/v1/rooms", params={"limit": "2", "from": "2"})
    assert [r["room_id"] for r in second["rooms"]] == [ids[0]]
    assert "next_batch" not in second and second["prev_batch"] == 0
    room = second["rooms"][0]
    assert room["creator"] == bob.user_id and room["joined_members"] == 1
    assert room["joined_local_members"] == 1 and room["version"] == "11"
    assert room["state_events"] >= 5 and room["public"] is False
    assert room["join_rules"] == "invite" and room["federatable"] is True
    for key in ("canonical_alias", "encryption", "guest_access", "history_visibility"):
        assert key in room
    assert room["room_type"] is None


async def test_list_rooms_search_term_and_ordering(admin, bob):
    await make_room(bob, "Budget 2025")
    big = await make_room(bob, "Crisis cell", invite=[admin.user_id])
    await admin.ok("POST", f"/join/{big}", json={})
    found = await ok(admin, "GET", "/v1/rooms", params={"search_term": "budget"})
    assert [r["name"] for r in found["rooms"]] == ["Budget 2025"]
    by_size = await ok(admin, "GET", "/v1/rooms", params={"order_by": "joined_members"})
    assert by_size["rooms"][0]["room_id"] == big
    reverse = await ok(admin, "GET", "/v1/rooms", params={"order_by": "name", "dir": "b"})
    assert [r["name"] for r in reverse["rooms"]] == ["Crisis cell", "Budget 2025"]
    response = await call(admin, "GET", "/v1/rooms", params={"order_by": "colour"})
    assert (response.status_code, errcode(response)) == (400, "M_INVALID_PARAM")


async def test_room_details_and_members(admin, bob, services, client):
    carol = await create_local_user(services, client, "carol")
    room_id = await make_room(bob, "Ops", topic="Daily ops", invite=[carol.user_id])
    await carol.ok("POST", f"/join/{room_id}", json={})
    details = await ok(admin, "GET", f"/v1/rooms/{quote(room_id)}")
    assert details["room_id"] == room_id and details["topic"] == "Daily ops"
    assert details["joined_members"] == 2
    members = await ok(admin, "GET", f"/v1/rooms/{quote(room_id)}/members")
    assert members == {"members": sorted([bob.user_id, carol.user_id]), "total": 2}


async def test_unknown_or_malformed_rooms_get_errors(admin):
    for path in ("/v1/rooms/%21nope%3Atest.local", "/v1/rooms/%21nope%3Atest.local/members"):
        response = await call(admin, "GET", path)
        assert (response.status_code, errcode(response)) == (404, "M_NOT_FOUND")
    response = await call(admin, "GET", "/v1/rooms/not-a-room")
    assert (response.status_code, errcode(response)) == (400, "M_INVALID_PARAM")


async def test_room_and_report_endpoints_refuse_non_admins(bob, client):
    room_id = quote(await make_room(bob, "Mine"))
    for path in (
        "/v1/rooms",
        f"/v1/rooms/{room_id}",
        f"/v1/rooms/{room_id}/members",
        "/v1/event_reports",
        "/v1/event_reports/x",
    ):
        response = await call(bob, "GET", path)
        assert (response.status_code, errcode(response)) == (403, "M_FORBIDDEN"), path
        response = await call(None, "GET", path, http=client)
        assert (response.status_code, errcode(response)) == (401, "M_MISSING_TOKEN"), path


async def report(user, room_id, body, reason):
    sent = await user.ok(
        "PUT",
        f"/rooms/{room_id}/send/m.room.message/{reason}",
        json={"msgtype": "m.text", "body": body},
    )
    await user.ok("POST", f"/rooms/{room_id}/report/{sent['event_id']}", json={"reason": reason})
    await asyncio.sleep(0.003)  # reports are ordered by their millisecond timestamps
    return sent["event_id"]


async def test_event_reports_list_newest_first_pages_and_details(admin, bob, services, client):
    carol = await create_local_user(services, client, "carol")
    room_id = await make_room(bob, "Reported", invite=[carol.user_id])
    await carol.ok("POST", f"/join/{room_id}", json={})
    events = [await report(carol, room_id, f"m{i}", f"r{i}") for i in range(3)]
    # A room report is not an event report: the list leaves it out.
    await carol.ok("POST", f"/rooms/{room_id}/report", json={"reason": "room"})
    first = await ok(admin, "GET", "/v1/event_reports", params={"limit": "2"})
    assert first["total"] == 3 and first["next_token"] == 2
    assert [r["reason"] for r in first["event_reports"]] == ["r2", "r1"]
    rest = await ok(admin, "GET", "/v1/event_reports", params={"from": "2"})
    assert [r["event_id"] for r in rest["event_reports"]] == [events[0]]
    assert "next_token" not in rest
    oldest = await ok(admin, "GET", "/v1/event_reports", params={"dir": "f", "limit": "1"})
    entry = oldest["event_reports"][0]
    assert entry["event_id"] == events[0] and entry["user_id"] == carol.user_id
    assert entry["sender"] == carol.user_id and entry["name"] == "Reported"
    details = await ok(admin, "GET", f"/v1/event_reports/{quote(entry['id'])}")
    assert details["id"] == entry["id"] and details["event_id"] == events[0]
    assert details["event_json"]["content"]["body"] == "m0"
    assert details["event_json"]["sender"] == carol.user_id
    response = await call(admin, "GET", "/v1/event_reports/nosuchreport")
    assert (response.status_code, errcode(response)) == (404, "M_NOT_FOUND")
    response = await call(admin, "GET", "/v1/event_reports", params={"dir": "up"})
    assert (response.status_code, errcode(response)) == (400, "M_INVALID_PARAM")
