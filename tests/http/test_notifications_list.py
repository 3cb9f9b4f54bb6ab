"""GET /notifications: every event that notified the user, read or not, newest first."""

import secrets
from typing import Any

import pytest

from sceau.storage import notifications as history
from sceau.storage.notifications import decode_actions, encode_actions
from tests.http.spec_shapes_support import check_shape

SPEC_PATH = "/_matrix/client/v3/notifications"
ONE_TO_ONE = ["notify", {"set_tweak": "sound", "value": "default"}]
MENTION = ["notify", {"set_tweak": "sound", "value": "default"}, {"set_tweak": "highlight"}]


async def room_of(alice, *others) -> str:
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    for other in others:
        await other.ok("POST", f"/join/{room}", json={})
    return room


async def send(user, room: str, body: str = "bonjour", **extra: Any) -> str:
    path = f"/rooms/{room}/send/m.room.message/{secrets.token_hex(4)}"
    content = {"msgtype": "m.text", "body": body, **extra}
    return (await user.ok("PUT", path, json=content))["event_id"]


async def listing(user, query: str = "") -> Any:
    response = await user.request("GET", "/notifications" + query)
    assert response.status_code == 200, response.text
    check_shape(SPEC_PATH, "GET", response)
    return response.json()


def ids(page: Any) -> list[str]:
    return [n["event"]["event_id"] for n in page["notifications"]]


async def read_up_to(user, room: str, event_id: str, **body: Any) -> None:
    await user.ok("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json=body)


async def unread_count(user, room: str) -> int:
    sync = await user.ok("GET", "/sync?timeout=0")
    return int(sync["rooms"]["join"][room]["unread_notifications"]["notification_count"])


async def test_notifications_come_newest_first_with_their_actions_and_event(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    first = await send(alice, room, "un")
    second = await send(alice, room, "deux")
    mine = await send(bob, room, "mine")  # one's own messages never notify
    page = await listing(bob)
    assert ids(page) == [second, first]
    entry = page["notifications"][0]
    assert entry["room_id"] == room
    assert entry["read"] is False
    assert entry["actions"] == ONE_TO_ONE  # a room of two: .m.rule.room_one_to_one
    assert isinstance(entry["ts"], int) and entry["ts"] > 0
    assert "profile_tag" not in entry
    event = entry["event"]
    assert "room_id" not in event  # the spec's event without room_id
    assert (event["sender"], event["content"]["body"]) == (alice.user_id, "deux")
    assert "next_token" not in page
    assert ids(await listing(alice)) == [mine]


async def test_plain_group_messages_list_plain_notify(user_factory):
    alice, bob, carol = [await user_factory(n) for n in ("alice", "bob", "carol")]
    room = await room_of(alice, bob, carol)
    await send(alice, room)
    assert (await listing(bob))["notifications"][0]["actions"] == ["notify"]


async def test_read_notifications_stay_listed_and_unread_counts_are_unchanged(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    sent = [await send(alice, room, str(n)) for n in range(3)]
    await read_up_to(bob, room, sent[1])
    page = await listing(bob)
    assert ids(page) == sent[::-1]
    assert [n["read"] for n in page["notifications"]] == [False, True, True]
    assert page["notifications"][1]["actions"] == ONE_TO_ONE
    assert await unread_count(bob, room) == 1
    await read_up_to(bob, room, sent[2])
    assert all(n["read"] for n in (await listing(bob))["notifications"])
    assert await unread_count(bob, room) == 0


async def test_a_threaded_receipt_reads_only_its_thread(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    root = await send(alice, room, "racine")
    reply = await send(
        alice, room, "réponse", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    )
    later = await send(alice, room, "plus tard")
    await read_up_to(bob, room, reply, thread_id=root)
    page = await listing(bob)
    read = {n["event"]["event_id"]: n["read"] for n in page["notifications"]}
    assert read == {root: False, reply: True, later: False}


async def test_only_highlight_lists_the_highlights(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    await send(alice, room, "rien")
    mention = await send(alice, room, "salut", **{"m.mentions": {"user_ids": [bob.user_id]}})
    await send(alice, room, "rien non plus")
    page = await listing(bob, "?only=highlight")
    assert ids(page) == [mention]
    assert page["notifications"][0]["actions"] == MENTION
    assert len((await listing(bob, "?only=something_else"))["notifications"]) == 3


async def test_pages_follow_the_token_across_read_and_unread(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    sent = [await send(alice, room, str(n)) for n in range(5)]
    await read_up_to(bob, room, sent[2])
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&from={token}" if token else "")
        page = await listing(bob, query)
        pages += 1
        seen += ids(page)
        token = page.get("next_token")
        if token is None:
            break
        assert isinstance(token, str)
    assert seen == sent[::-1]
    assert pages == 3
    one = await listing(bob, "?limit=5")
    assert "next_token" not in one and ids(one) == sent[::-1]


@pytest.mark.parametrize(
    "query",
    [
        "?from=abc",
        "?from=t5",
        "?from=n-1",
        "?from=n",
        "?from=n1.5",
        "?from=n" + "9" * 30,
        "?limit=0",
        "?limit=-1",
        "?limit=abc",
    ],
)
async def test_bad_tokens_and_limits_are_invalid_params(user_factory, query):
    bob = await user_factory("bob")
    response = await bob.request("GET", "/notifications" + query)
    assert response.status_code == 400, response.text
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_a_huge_limit_is_capped(user_factory):
    bob = await user_factory("bob")
    assert await listing(bob, f"?limit={2**63}") == {"notifications": []}


async def test_redacted_events_leave_the_list_read_or_not(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    read = await send(alice, room, "lu")
    unread = await send(alice, room, "pas lu")
    kept = await send(alice, room, "gardé")
    await read_up_to(bob, room, read)
    for target in (read, unread):
        await alice.ok("PUT", f"/rooms/{room}/redact/{target}/{secrets.token_hex(4)}", json={})
    assert ids(await listing(bob)) == [kept]
    assert await unread_count(bob, room) == 1


async def test_leaving_a_room_drops_its_unread_notifications_but_not_the_read_ones(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    read = await send(alice, room, "lu")
    await send(alice, room, "pas lu")
    await read_up_to(bob, room, read)
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    page = await listing(bob)
    assert ids(page) == [read]
    assert page["notifications"][0]["read"] is True


async def test_users_see_only_their_own_notifications(user_factory):
    alice, bob, carol = [await user_factory(n) for n in ("alice", "bob", "carol")]
    room_ab = await room_of(alice, bob)
    room_ac = await room_of(alice, carol)
    to_bob = await send(alice, room_ab)
    to_carol = await send(alice, room_ac)
    assert ids(await listing(bob)) == [to_bob]
    assert ids(await listing(carol)) == [to_carol]


async def test_a_deactivated_account_keeps_no_history(user_factory, services):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    await read_up_to(bob, room, await send(alice, room))
    count = "SELECT COUNT(*) FROM notification_history WHERE user_id = ?"
    assert await services.stores.db.fetchval(count, bob.user_id) == 1
    await services.accounts.deactivate_user(bob.user_id)
    assert await services.stores.db.fetchval(count, bob.user_id) == 0


async def test_history_keeps_only_the_newest_rows_per_user(user_factory, monkeypatch):
    monkeypatch.setattr(history, "HISTORY_MAX_PER_USER", 3)
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    sent = [await send(alice, room, str(n)) for n in range(5)]
    await read_up_to(bob, room, sent[-1])
    assert ids(await listing(bob)) == sent[:1:-1]


async def test_history_forgets_notifications_older_than_thirty_days(
    user_factory, services, monkeypatch
):
    now = {"ms": 1_800_000_000_000}
    monkeypatch.setattr(services.clock, "time_ms", lambda: now["ms"])
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    old = await send(alice, room, "vieux")
    now["ms"] += history.HISTORY_MAX_AGE_MS
    recent = await send(alice, room, "récent")
    now["ms"] += 1
    await read_up_to(bob, room, recent)
    page = await listing(bob)
    assert ids(page) == [recent]
    assert old not in ids(page)
    assert page["notifications"][0]["ts"] == 1_800_000_000_000 + history.HISTORY_MAX_AGE_MS


async def test_rows_from_before_actions_were_stored_are_listed_sensibly(user_factory, services):
    """Unread rows written before migration 042 have no actions and no time."""
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = await room_of(alice, bob)
    plain = await send(alice, room, "rien")
    mention = await send(alice, room, "salut", **{"m.mentions": {"user_ids": [bob.user_id]}})
    async with services.stores.db.transaction() as txn:
        await txn.execute(
            "UPDATE event_push_actions SET actions_json = NULL, ts = NULL WHERE user_id = ?",
            bob.user_id,
        )
    page = await listing(bob)
    by_id = {n["event"]["event_id"]: n for n in page["notifications"]}
    assert by_id[plain]["actions"] == ["notify"]
    assert by_id[mention]["actions"] == ["notify", {"set_tweak": "highlight"}]
    assert by_id[plain]["ts"] == by_id[plain]["event"]["origin_server_ts"]
    await read_up_to(bob, room, mention)
    moved = await listing(bob)
    assert [n["ts"] for n in moved["notifications"]] == [n["ts"] for n in page["notifications"]]


def test_actions_are_stored_compactly_and_read_back_unchanged():
    assert encode_actions(["notify"]) is None
    assert encode_actions(None) is None
    assert decode_actions(None, False) == ["notify"]
    assert decode_actions(encode_actions(MENTION), True) == MENTION
    assert decode_actions(encode_actions(ONE_TO_ONE), False) == ONE_TO_ONE


async def test_notifications_need_an_access_token(client):
    response = await client.get(SPEC_PATH)
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_MISSING_TOKEN"
