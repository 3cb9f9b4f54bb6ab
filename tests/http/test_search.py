"""Server-side search (POST /search) over HTTP, on SQLite FTS5 and PostgreSQL tsvector."""

import itertools
from typing import Any

from tests.http.spec_shapes import assert_spec_shape

_txn = itertools.count()


async def say(user: Any, room: str, body: str, event_type: str = "m.room.message") -> str:
    content = {"msgtype": "m.text", "body": body}
    result = await user.ok("PUT", f"/rooms/{room}/send/{event_type}/s{next(_txn)}", json=content)
    return str(result["event_id"])


async def search(user: Any, criteria: dict[str, Any], next_batch: str | None = None) -> Any:
    path = "/search" + (f"?next_batch={next_batch}" if next_batch else "")
    body = await user.ok("POST", path, json={"search_categories": {"room_events": criteria}})
    return body["search_categories"]["room_events"]


def ids(results: Any) -> list[str]:
    return [r["result"]["event_id"] for r in results["results"]]


async def test_search_finds_messages_in_joined_rooms_only(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    hit = await say(alice, room, "The quarterly budget is ready")
    await say(alice, room, "Lunch at noon?")
    other = (await bob.ok("POST", "/createRoom", json={}))["room_id"]
    await say(bob, other, "Bob's budget notes")

    found = await search(alice, {"search_term": "budget"})
    assert ids(found) == [hit]
    assert found["count"] == 1
    assert "budget" in found["highlights"]
    assert found["results"][0]["rank"] > 0
    assert_spec_shape(
        "/_matrix/client/v3/search",
        "post",
        {"search_categories": {"room_events": found}},
    )


async def test_search_matches_prefixes_case_and_accent_insensitively(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    hit = await say(alice, room, "Réunion du Conseil demain")
    found = await search(alice, {"search_term": "CONSEIL"})
    assert ids(found) == [hit]
    found = await search(alice, {"search_term": "conse"})
    assert ids(found) == [hit]
    assert "conseil" in found["highlights"]
    found = await search(alice, {"search_term": "reunion"})
    assert ids(found) == [hit]
    found = await search(alice, {"search_term": "RÉUNION"})
    assert ids(found) == [hit]
    found = await search(alice, {"search_term": '"conseil demain"'})
    assert ids(found) == [hit]
    found = await search(alice, {"search_term": '"demain conseil"'})
    assert ids(found) == []


async def test_search_ranks_better_matches_first_or_orders_by_recency(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    strong = await say(alice, room, "apple apple apple")
    weak = await say(alice, room, "an apple among many other words in a long sentence about fruit")
    by_rank = await search(alice, {"search_term": "apple"})
    assert ids(by_rank) == [strong, weak]
    assert by_rank["results"][0]["rank"] >= by_rank["results"][1]["rank"]
    recent = await search(alice, {"search_term": "apple", "order_by": "recent"})
    assert ids(recent) == [weak, strong]


async def test_search_paginates_with_next_batch(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    sent = [await say(alice, room, f"report number {i}") for i in range(5)]
    for order in ("recent", "rank"):
        criteria = {"search_term": "report", "order_by": order, "filter": {"limit": 2}}
        seen: list[str] = []
        token = None
        for _ in range(5):
            page = await search(alice, criteria, token)
            assert page["count"] == 5
            seen += ids(page)
            token = page.get("next_batch")
            if token is None:
                break
        assert sorted(seen) == sorted(sent), order
        assert len(seen) == 5
    recent_first = await search(alice, {"search_term": "report", "order_by": "recent"})
    assert ids(recent_first) == list(reversed(sent))


async def test_redacted_messages_leave_the_index(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    event_id = await say(alice, room, "my password is hunter2")
    assert ids(await search(alice, {"search_term": "hunter2"})) == [event_id]
    await alice.ok("PUT", f"/rooms/{room}/redact/{event_id}/x1", json={})
    found = await search(alice, {"search_term": "hunter2"})
    assert found["results"] == []
    assert found["count"] == 0


async def test_encrypted_events_are_never_indexed(user_factory, services):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok(
        "PUT",
        f"/rooms/{room}/send/m.room.encrypted/e1",
        json={
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "secretword",
            "body": "secretword",
        },
    )
    assert (await search(alice, {"search_term": "secretword"}))["results"] == []
    rows = await services.stores.db.fetchval("SELECT COUNT(*) FROM event_search")
    assert rows == 0


async def test_search_keys_cover_room_names_and_topics(user_factory):
    alice = await user_factory("alice")
    room = (
        await alice.ok("POST", "/createRoom", json={"name": "Gardening club", "topic": "Tomatoes"})
    )["room_id"]
    message = await say(alice, room, "gardening tips inside")
    names = await search(alice, {"search_term": "gardening", "keys": ["content.name"]})
    assert [r["result"]["type"] for r in names["results"]] == ["m.room.name"]
    topics = await search(alice, {"search_term": "tomatoes", "keys": ["content.topic"]})
    assert [r["result"]["type"] for r in topics["results"]] == ["m.room.topic"]
    bodies = await search(alice, {"search_term": "gardening", "keys": ["content.body"]})
    assert ids(bodies) == [message]
    response = await alice.request(
        "POST",
        "/search",
        json={"search_categories": {"room_events": {"search_term": "x", "keys": ["content.url"]}}},
    )
    assert response.status_code == 400


async def test_search_filter_restricts_rooms_and_senders(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    one = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    two = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await bob.ok("POST", f"/join/{one}", json={})
    from_alice = await say(alice, one, "weekly sync")
    from_bob = await say(bob, one, "weekly sync agenda")
    in_two = await say(alice, two, "weekly sync notes")
    only_one = await search(alice, {"search_term": "weekly", "filter": {"rooms": [one]}})
    assert sorted(ids(only_one)) == sorted([from_alice, from_bob])
    not_bob = await search(
        alice, {"search_term": "weekly", "filter": {"not_senders": [bob.user_id]}}
    )
    assert sorted(ids(not_bob)) == sorted([from_alice, in_two])


async def test_search_returns_context_and_profiles(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    before = await say(alice, room, "first")
    hit = await say(alice, room, "the needle")
    after = await say(alice, room, "last")
    found = await search(
        alice,
        {
            "search_term": "needle",
            "event_context": {"before_limit": 1, "after_limit": 1, "include_profile": True},
            "groupings": {"group_by": [{"key": "room_id"}]},
        },
    )
    context = found["results"][0]["context"]
    assert [e["event_id"] for e in context["events_before"]] == [before]
    assert [e["event_id"] for e in context["events_after"]] == [after]
    assert alice.user_id in context["profile_info"]
    assert found["groups"]["room_id"][room]["results"] == [hit]
    assert context["start"] and context["end"]


async def test_former_members_do_not_find_messages_sent_after_they_left(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    await say(alice, room, "pineapple before")
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    await say(alice, room, "pineapple after")
    assert (await search(bob, {"search_term": "pineapple"}))["results"] == []


async def test_search_rejects_malformed_bodies(user_factory):
    alice = await user_factory("alice")
    for body in (
        {},
        {"search_categories": []},
        {"search_categories": {"room_events": {"search_term": 3}}},
        {"search_categories": {"room_events": {"search_term": "x", "order_by": "size"}}},
    ):
        response = await alice.request("POST", "/search", json=body)
        assert response.status_code == 400, body
    response = await alice.request(
        "POST",
        "/search?next_batch=zzz",
        json={"search_categories": {"room_events": {"search_term": "x"}}},
    )
    assert response.status_code == 400
    empty = await alice.ok("POST", "/search", json={"search_categories": {}})
    assert empty == {"search_categories": {}}
    odd = await search(alice, {"search_term": 'NEAR( "" * ^ -- \' ; OR AND \x00 ✓ \u0301 ́'})
    assert odd["results"] == []


async def test_search_can_include_the_rooms_current_state(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Stateful"}))["room_id"]
    await say(alice, room, "stateful message")
    found = await search(alice, {"search_term": "message", "include_state": True})
    types = {event["type"] for event in found["state"][room]}
    assert {"m.room.create", "m.room.name", "m.room.member"} <= types
