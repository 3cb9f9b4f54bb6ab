"""Relations, threads and bundled aggregations over HTTP."""

import itertools
from typing import Any

from tests.http.spec_shapes import assert_spec_shape

V1 = "/_matrix/client/v1"
_txn = itertools.count()


async def send(
    user: Any, room: str, content: dict[str, Any], event_type: str = "m.room.message"
) -> str:
    result = await user.ok("PUT", f"/rooms/{room}/send/{event_type}/t{next(_txn)}", json=content)
    return str(result["event_id"])


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def reply_in_thread(root: str, body: str) -> dict[str, Any]:
    return {**text(body), "m.relates_to": {"rel_type": "m.thread", "event_id": root}}


def edit(target: str, body: str) -> dict[str, Any]:
    return {
        **text("* " + body),
        "m.new_content": text(body),
        "m.relates_to": {"rel_type": "m.replace", "event_id": target},
    }


def reaction(target: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}


async def shared_room(user_factory: Any) -> tuple[Any, Any, str]:
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    return alice, bob, room


async def test_relations_lists_children_newest_first_filtered_by_type(user_factory):
    alice, bob, room = await shared_room(user_factory)
    root = await send(alice, room, text("root"))
    first = await send(bob, room, reply_in_thread(root, "one"))
    like = await send(bob, room, reaction(root, "👍"), "m.reaction")
    second = await send(alice, room, reply_in_thread(root, "two"))
    await send(alice, room, text("unrelated"))

    everything = await bob.ok("GET", f"{V1}/rooms/{room}/relations/{root}")
    assert [e["event_id"] for e in everything["chunk"]] == [second, like, first]
    assert_spec_shape("/_matrix/client/v1/rooms/{roomId}/relations/{eventId}", "get", everything)

    threads = await bob.ok("GET", f"{V1}/rooms/{room}/relations/{root}/m.thread")
    assert [e["event_id"] for e in threads["chunk"]] == [second, first]

    reactions = await bob.ok("GET", f"{V1}/rooms/{room}/relations/{root}/m.annotation/m.reaction")
    assert [e["event_id"] for e in reactions["chunk"]] == [like]
    none = await bob.ok("GET", f"{V1}/rooms/{room}/relations/{root}/m.annotation/m.room.message")
    assert none["chunk"] == []


async def test_relations_paginate_both_directions_without_gaps(user_factory):
    alice, _, room = await shared_room(user_factory)
    root = await send(alice, room, text("root"))
    replies = [await send(alice, room, reply_in_thread(root, f"r{i}")) for i in range(5)]

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = "limit=2" + (f"&from={token}" if token else "")
        page = await alice.ok("GET", f"{V1}/rooms/{room}/relations/{root}?{query}")
        seen += [e["event_id"] for e in page["chunk"]]
        pages += 1
        if token:
            assert page["prev_batch"] == token
        token = page.get("next_batch")
        if token is None:
            break
    assert seen == list(reversed(replies))
    assert pages == 3

    forward = await alice.ok("GET", f"{V1}/rooms/{room}/relations/{root}?dir=f&limit=3")
    assert [e["event_id"] for e in forward["chunk"]] == replies[:3]
    rest = await alice.ok(
        "GET", f"{V1}/rooms/{room}/relations/{root}?dir=f&from={forward['next_batch']}"
    )
    assert [e["event_id"] for e in rest["chunk"]] == replies[3:]
    assert "next_batch" not in rest


async def test_relations_of_invisible_event_are_refused(user_factory):
    alice, _, room = await shared_room(user_factory)
    root = await send(alice, room, text("root"))
    eve = await user_factory("eve")
    private = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    hidden = await send(alice, private, text("secret"))
    response = await eve.request("GET", f"{V1}/rooms/{private}/relations/{hidden}")
    assert response.status_code in (403, 404)
    # An event ID from another room is not found through this room.
    response = await alice.request("GET", f"{V1}/rooms/{room}/relations/{hidden}")
    assert response.status_code == 404
    assert response.json()["errcode"] == "M_NOT_FOUND"
    response = await alice.request("GET", f"{V1}/rooms/{room}/relations/{root}?dir=x")
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_recurse_includes_indirect_relations_and_reports_depth(user_factory):
    alice, _, room = await shared_room(user_factory)
    root = await send(alice, room, text("root"))
    reply = await send(alice, room, reply_in_thread(root, "reply"))
    like = await send(alice, room, reaction(reply, "🎉"), "m.reaction")

    flat = await alice.ok("GET", f"{V1}/rooms/{room}/relations/{root}")
    assert [e["event_id"] for e in flat["chunk"]] == [reply]
    assert "recursion_depth" not in flat
    deep = await alice.ok("GET", f"{V1}/rooms/{room}/relations/{root}?recurse=true")
    assert [e["event_id"] for e in deep["chunk"]] == [like, reply]
    assert deep["recursion_depth"] == 3


async def test_edit_is_bundled_as_the_latest_replacement_by_the_sender(user_factory):
    alice, bob, room = await shared_room(user_factory)
    original = await send(alice, room, text("helo"))
    await send(alice, room, edit(original, "hello"))
    latest = await send(alice, room, edit(original, "hello!"))
    await send(bob, room, edit(original, "hijacked"))  # not the sender: ignored

    event = await bob.ok("GET", f"/rooms/{room}/event/{original}")
    replacement = event["unsigned"]["m.relations"]["m.replace"]
    assert replacement["event_id"] == latest
    assert replacement["content"]["m.new_content"]["body"] == "hello!"
    # Spec v1.7+: the server leaves the original content alone.
    assert event["content"]["body"] == "helo"

    page = await bob.ok("GET", f"/rooms/{room}/messages?dir=b&limit=10")
    by_id = {e["event_id"]: e for e in page["chunk"]}
    assert by_id[original]["unsigned"]["m.relations"]["m.replace"]["event_id"] == latest


async def test_edits_of_a_redacted_event_are_not_bundled(user_factory):
    alice, _, room = await shared_room(user_factory)
    original = await send(alice, room, text("oops"))
    fix = await send(alice, room, edit(original, "fixed"))
    await alice.ok("PUT", f"/rooms/{room}/redact/{original}/r1", json={})
    event = await alice.ok("GET", f"/rooms/{room}/event/{original}")
    assert "m.relations" not in event["unsigned"]

    other = await send(alice, room, text("second"))
    redacted_edit = await send(alice, room, edit(other, "2nd"))
    await alice.ok("PUT", f"/rooms/{room}/redact/{redacted_edit}/r2", json={})
    event = await alice.ok("GET", f"/rooms/{room}/event/{other}")
    assert "m.relations" not in event["unsigned"]
    assert fix != redacted_edit


async def test_thread_summary_is_bundled_on_the_root(user_factory):
    alice, bob, room = await shared_room(user_factory)
    root = await send(alice, room, text("root"))
    await send(alice, room, reply_in_thread(root, "first"))
    last = await send(alice, room, reply_in_thread(root, "last"))
    last_edit = await send(alice, room, edit(last, "last, edited"))

    event = await bob.ok("GET", f"/rooms/{room}/event/{root}")
    thread = event["unsigned"]["m.relations"]["m.thread"]
    assert thread["count"] == 2
    assert thread["latest_event"]["event_id"] == last
    assert thread["current_user_participated"] is False
    latest_edit = thread["latest_event"]["unsigned"]["m.relations"]["m.replace"]
    assert latest_edit["event_id"] == last_edit

    mine = await alice.ok("GET", f"/rooms/{room}/event/{root}")
    assert mine["unsigned"]["m.relations"]["m.thread"]["current_user_participated"] is True


async def test_references_are_bundled_as_a_chunk_of_ids(user_factory):
    alice, _, room = await shared_room(user_factory)
    target = await send(alice, room, text("poll"))
    refs = [
        await send(
            alice,
            room,
            {"body": f"vote {i}", "m.relates_to": {"rel_type": "m.reference", "event_id": target}},
            "m.poll.response",
        )
        for i in range(2)
    ]
    event = await alice.ok("GET", f"/rooms/{room}/event/{target}")
    assert event["unsigned"]["m.relations"]["m.reference"] == {
        "chunk": [{"event_id": refs[0]}, {"event_id": refs[1]}]
    }


async def test_threads_lists_roots_by_latest_activity_with_participation_filter(user_factory):
    alice, bob, room = await shared_room(user_factory)
    old_root = await send(alice, room, text("old"))
    bob_root = await send(bob, room, text("bob's"))
    await send(bob, room, reply_in_thread(bob_root, "in bob's thread"))
    await send(alice, room, reply_in_thread(old_root, "alice revives the old thread"))
    await send(alice, room, text("no thread here"))

    listing = await bob.ok("GET", f"{V1}/rooms/{room}/threads")
    assert [e["event_id"] for e in listing["chunk"]] == [old_root, bob_root]
    assert listing["chunk"][0]["unsigned"]["m.relations"]["m.thread"]["count"] == 1
    assert_spec_shape("/_matrix/client/v1/rooms/{roomId}/threads", "get", listing)

    participated = await bob.ok("GET", f"{V1}/rooms/{room}/threads?include=participated")
    assert [e["event_id"] for e in participated["chunk"]] == [bob_root]

    first = await bob.ok("GET", f"{V1}/rooms/{room}/threads?limit=1")
    assert [e["event_id"] for e in first["chunk"]] == [old_root]
    second = await bob.ok("GET", f"{V1}/rooms/{room}/threads?limit=1&from={first['next_batch']}")
    assert [e["event_id"] for e in second["chunk"]] == [bob_root]
    assert "next_batch" not in second

    response = await bob.request("GET", f"{V1}/rooms/{room}/threads?include=some")
    assert response.status_code == 400


async def test_outsider_cannot_list_threads(user_factory):
    alice = await user_factory("alice")
    eve = await user_factory("eve")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    response = await eve.request("GET", f"{V1}/rooms/{room}/threads")
    assert response.status_code == 403


async def test_sync_timeline_carries_bundled_aggregations(user_factory):
    alice, bob, room = await shared_room(user_factory)
    original = await send(alice, room, text("typo"))
    fix = await send(alice, room, edit(original, "fixed"))
    synced = await bob.ok("GET", "/sync")
    timeline = synced["rooms"]["join"][room]["timeline"]["events"]
    by_id = {event["event_id"]: event for event in timeline}
    assert by_id[original]["unsigned"]["m.relations"]["m.replace"]["event_id"] == fix
