"""Content reports: events (joined members only), rooms and users, stored for administrators."""

import secrets
from typing import Any

import pytest

from sceau.storage.reports import Report, ReportStore
from tests.http.spec_shapes_support import check_shape

V3 = "/_matrix/client/v3"
EVENT_REPORT = V3 + "/rooms/{roomId}/report/{eventId}"
ROOM_REPORT = V3 + "/rooms/{roomId}/report"
USER_REPORT = V3 + "/users/{userId}/report"


async def stored(services) -> list[Report]:
    return await ReportStore(services.stores.db).recent(100)


async def room_with_message(alice, bob, **extra: Any) -> tuple[str, str]:
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat", **extra}))[
        "room_id"
    ]
    if bob is not None:
        await bob.ok("POST", f"/join/{room}", json={})
    sent = await alice.ok(
        "PUT",
        f"/rooms/{room}/send/m.room.message/{secrets.token_hex(4)}",
        json={"msgtype": "m.text", "body": "spam"},
    )
    return room, sent["event_id"]


def expect_error(response, status: int, errcode: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode, response.text


# ---------------------------------------------------------------- events


async def test_a_joined_member_reports_an_event_with_reason_and_score(user_factory, services):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room, event = await room_with_message(alice, bob)
    response = await bob.request(
        "POST", f"/rooms/{room}/report/{event}", json={"reason": "insultant", "score": -100}
    )
    assert response.status_code == 200 and response.json() == {}
    check_shape(EVENT_REPORT, "POST", response)
    [report] = await stored(services)
    assert (report.kind, report.reporter_id, report.room_id, report.event_id) == (
        "event",
        bob.user_id,
        room,
        event,
    )
    assert report.target_user_id == alice.user_id  # the event's sender
    assert (report.reason, report.score) == ("insultant", -100)
    assert report.received_ts > 0


async def test_an_event_report_needs_neither_reason_nor_score(user_factory, services):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room, event = await room_with_message(alice, bob)
    await bob.ok("POST", f"/rooms/{room}/report/{event}", json={})
    [report] = await stored(services)
    assert (report.reason, report.score) == (None, None)


async def test_every_event_the_reporter_may_not_see_gets_the_same_404(user_factory, services):
    """Not joined, left, unknown, elsewhere, redacted, hidden by history: one identical answer."""
    alice, bob, carol = [await user_factory(n) for n in ("alice", "bob", "carol")]
    room, event = await room_with_message(alice, bob)
    other_room, other_event = await room_with_message(alice, None)
    hidden_room, hidden_event = await room_with_message(
        alice,
        None,
        initial_state=[
            {"type": "m.room.history_visibility", "content": {"history_visibility": "joined"}}
        ],
    )
    await carol.ok("POST", f"/join/{hidden_room}", json={})
    redacted = (
        await alice.ok(
            "PUT", f"/rooms/{room}/send/m.room.message/t2", json={"msgtype": "m.text", "body": "x"}
        )
    )["event_id"]
    await alice.ok("PUT", f"/rooms/{room}/redact/{redacted}/r1", json={})
    leaver = await user_factory("dave")
    await leaver.ok("POST", f"/join/{room}", json={})
    await leaver.ok("POST", f"/rooms/{room}/leave", json={})
    cases = {
        "not joined": (carol, room, event),
        "left the room": (leaver, room, event),
        "unknown event": (bob, room, "$nosuchevent"),
        "unknown room": (bob, "!nosuchroom:test.local", event),
        "event of another room": (bob, room, other_event),
        "not joined to the event's room": (bob, other_room, other_event),
        "redacted": (bob, room, redacted),
        "hidden by history visibility": (carol, hidden_room, hidden_event),
    }
    bodies = set()
    for case, (user, room_id, event_id) in cases.items():
        response = await user.request(
            "POST", f"/rooms/{room_id}/report/{event_id}", json={"reason": "r"}
        )
        assert response.status_code == 404, (case, response.text)
        assert response.json()["errcode"] == "M_NOT_FOUND", case
        check_shape(EVENT_REPORT, "POST", response)
        bodies.add(response.text)
    assert len(bodies) == 1
    assert await stored(services) == []


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"reason": 5}, "M_BAD_JSON"),
        ({"reason": ["r"]}, "M_BAD_JSON"),
        ({"score": "-100"}, "M_BAD_JSON"),
        ({"score": 1.5}, "M_BAD_JSON"),
        ({"score": True}, "M_BAD_JSON"),
        ({"score": 1}, "M_INVALID_PARAM"),
        ({"score": -101}, "M_INVALID_PARAM"),
        ({"score": 2**63}, "M_INVALID_PARAM"),
        ({"reason": "x" * 1001}, "M_BAD_JSON"),
    ],
)
async def test_malformed_event_reports_are_refused(user_factory, services, body, errcode):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room, event = await room_with_message(alice, bob)
    response = await bob.request("POST", f"/rooms/{room}/report/{event}", json=body)
    expect_error(response, 400, errcode)
    assert await stored(services) == []


async def test_an_event_report_body_must_be_json(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room, event = await room_with_message(alice, bob)
    response = await bob.request("POST", f"/rooms/{room}/report/{event}", content=b"{nope")
    expect_error(response, 400, "M_NOT_JSON")


# ----------------------------------------------------------------- rooms


async def test_anyone_may_report_a_room_without_joining_it(user_factory, services):
    alice, carol = await user_factory("alice"), await user_factory("carol")
    room, _ = await room_with_message(alice, None)
    response = await carol.request("POST", f"/rooms/{room}/report", json={"reason": ""})
    assert response.status_code == 200 and response.json() == {}
    check_shape(ROOM_REPORT, "POST", response)
    [report] = await stored(services)
    assert (report.kind, report.reporter_id, report.room_id, report.reason) == (
        "room",
        carol.user_id,
        room,
        "",
    )
    assert report.event_id is None and report.target_user_id is None


async def test_reporting_an_unknown_room_is_404(user_factory, services):
    carol = await user_factory("carol")
    response = await carol.request(
        "POST", "/rooms/!nosuchroom:test.local/report", json={"reason": "r"}
    )
    expect_error(response, 404, "M_NOT_FOUND")
    check_shape(ROOM_REPORT, "POST", response)
    assert await stored(services) == []


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({}, "M_MISSING_PARAM"),
        ({"reason": 1}, "M_BAD_JSON"),
        ({"reason": "x" * 1001}, "M_BAD_JSON"),
    ],
)
async def test_a_room_report_needs_a_string_reason(user_factory, body, errcode):
    alice = await user_factory("alice")
    room, _ = await room_with_message(alice, None)
    expect_error(await alice.request("POST", f"/rooms/{room}/report", json=body), 400, errcode)


# ----------------------------------------------------------------- users


async def test_a_local_user_is_reported_without_sharing_a_room(user_factory, services):
    alice, carol = await user_factory("alice"), await user_factory("carol")
    response = await carol.request("POST", f"/users/{alice.user_id}/report", json={"reason": "r"})
    assert response.status_code == 200 and response.json() == {}
    check_shape(USER_REPORT, "POST", response)
    [report] = await stored(services)
    assert (report.kind, report.reporter_id, report.target_user_id, report.reason) == (
        "user",
        carol.user_id,
        alice.user_id,
        "r",
    )


async def test_an_unknown_local_user_is_answered_like_a_real_one_but_not_stored(
    user_factory, services
):
    carol = await user_factory("carol")
    response = await carol.request("POST", "/users/@nobody:test.local/report", json={"reason": "r"})
    assert response.status_code == 200 and response.json() == {}
    assert await stored(services) == []


async def test_a_user_of_another_server_is_reported_for_the_administrators(user_factory, services):
    carol = await user_factory("carol")
    await carol.ok("POST", "/users/@x:other.example/report", json={"reason": "r"})
    [report] = await stored(services)
    assert report.target_user_id == "@x:other.example"


@pytest.mark.parametrize(
    ("user_id", "body", "errcode"),
    [
        ("not-a-user", {"reason": "r"}, "M_INVALID_PARAM"),
        ("@nocolon", {"reason": "r"}, "M_INVALID_PARAM"),
        ("@alice:test.local", {}, "M_MISSING_PARAM"),
        ("@alice:test.local", {"reason": False}, "M_BAD_JSON"),
        ("@alice:test.local", {"reason": "x" * 1001}, "M_BAD_JSON"),
    ],
)
async def test_malformed_user_reports_are_refused(user_factory, services, user_id, body, errcode):
    carol = await user_factory("carol")
    response = await carol.request("POST", f"/users/{user_id}/report", json=body)
    expect_error(response, 400, errcode)
    assert await stored(services) == []


async def test_reports_need_an_access_token(client):
    for path in ("/rooms/!r:test.local/report/$e", "/rooms/!r:test.local/report"):
        response = await client.post(V3 + path, json={"reason": "r"})
        expect_error(response, 401, "M_MISSING_TOKEN")
    response = await client.post(V3 + "/users/@a:test.local/report", json={"reason": "r"})
    expect_error(response, 401, "M_MISSING_TOKEN")


# ------------------------------------------------------------ rate limit

LIMITED = {"rate_limits": {"enabled": True, "report": {"per_second": 0.001, "burst": 3}}}


@pytest.mark.parametrize("config_overrides", [LIMITED])
async def test_reports_of_every_kind_share_one_rate_limit_per_user(user_factory, services):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room, event = await room_with_message(alice, bob)
    await bob.ok("POST", f"/rooms/{room}/report/{event}", json={})
    await bob.ok("POST", f"/rooms/{room}/report", json={"reason": "r"})
    await bob.ok("POST", f"/users/{alice.user_id}/report", json={"reason": "r"})
    for path in (f"/rooms/{room}/report/{event}", f"/rooms/{room}/report"):
        response = await bob.request("POST", path, json={"reason": "r"})
        expect_error(response, 429, "M_LIMIT_EXCEEDED")
        assert response.json()["retry_after_ms"] > 0
    response = await bob.request("POST", f"/users/{alice.user_id}/report", json={"reason": "r"})
    expect_error(response, 429, "M_LIMIT_EXCEEDED")
    check_shape(USER_REPORT, "POST", response)
    check_shape(ROOM_REPORT, "POST", response)
    # Another user has a bucket of their own.
    await alice.ok("POST", f"/rooms/{room}/report", json={"reason": "r"})
    assert len(await stored(services)) == 4


@pytest.mark.parametrize("config_overrides", [LIMITED])
async def test_reports_of_missing_content_spend_the_rate_limit_too(user_factory):
    """So the 404s cannot be used to probe for events or rooms quickly."""
    carol = await user_factory("carol")
    for _ in range(3):
        response = await carol.request(
            "POST", "/rooms/!nosuchroom:test.local/report/$nosuchevent", json={}
        )
        expect_error(response, 404, "M_NOT_FOUND")
    response = await carol.request("POST", "/rooms/!nosuchroom:test.local/report/$e", json={})
    expect_error(response, 429, "M_LIMIT_EXCEEDED")


async def test_reports_are_listed_newest_first_for_administrators(services):
    store = ReportStore(services.stores.db)
    for index in range(5):
        await store.add(
            Report(f"id{index}", "user", "@a:t", None, None, "@b:t", "r", None, 1000 + index // 2)
        )
    first = await store.recent(3)
    assert [r.report_id for r in first] == ["id4", "id3", "id2"]
    last = first[-1]
    rest = await store.recent(3, before=(last.received_ts, last.report_id))
    assert [r.report_id for r in rest] == ["id1", "id0"]
