"""Syncs woken by one event share the room's work; lazy members in limited timelines."""

import asyncio
import json

from sceau.homeserver import Services

OFFLINE = {"set_presence": "offline"}


async def _until(condition, attempts: int = 500) -> None:
    """Yield to the server until ``condition()`` holds (no fixed sleeps)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_one_event_wakes_many_syncs_and_their_room_entry_is_computed_once(
    user_factory, services: Services
):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    others = [await user_factory(f"w{i}") for i in range(6)]
    for other in others:
        await other.ok("POST", f"/join/{room}", json={})
    users = [alice, *others]
    flt = json.dumps({"room": {"timeline": {"limit": 5}}})
    tokens = [
        (await u.ok("GET", "/sync", params={**OFFLINE, "filter": flt}))["next_batch"] for u in users
    ]
    assert len(set(tokens)) == 1
    computed: list[tuple] = []
    services.sync.rooms_builder.shared.on_compute = computed.append
    polls = [
        asyncio.create_task(
            u.ok(
                "GET",
                "/sync",
                params={**OFFLINE, "filter": flt, "since": token, "timeout": "20000"},
            )
        )
        for u, token in zip(users, tokens, strict=True)
    ]
    await _until(lambda: services.notifier.waiting_count() == len(users))
    body = {"body": "à tous", "msgtype": "m.text"}
    await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/t1", json=body)
    replies = await asyncio.wait_for(asyncio.gather(*polls), 10)

    assert [key for key in computed if key[0] == room] == [computed[0]]
    assert services.sync.rooms_builder.shared.reused >= len(users) - 1
    for user, reply in zip(users, replies, strict=True):
        (event,) = reply["rooms"]["join"][room]["timeline"]["events"]
        assert event["content"]["body"] == "à tous"
        # The sender's own echo carries its transaction ID; nobody else's does.
        assert event["unsigned"].get("transaction_id") == ("t1" if user is alice else None)
        assert "unread_notifications" in reply["rooms"]["join"][room]


async def test_limited_lazy_timeline_carries_its_senders_members_and_the_users_own_only(
    user_factory,
):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    bob, carol, u1, u2, u3 = [
        await user_factory(name) for name in ("bob", "carol", "u1", "u2", "u3")
    ]
    for user in (bob, carol, u1, u2, u3):
        await user.ok("POST", f"/join/{room}", json={})
    lazy = json.dumps({"room": {"timeline": {"limit": 2}, "state": {"lazy_load_members": True}}})
    eager = json.dumps({"room": {"timeline": {"limit": 2}}})
    token = (await bob.ok("GET", "/sync", params={**OFFLINE, "filter": lazy}))["next_batch"]

    # In the gap: u3 and bob change their display names; u1 talks a lot.
    for user in (u3, bob):
        await user.ok(
            "PUT", f"/rooms/{room}/state/m.room.member/{user.user_id}",
            json={"membership": "join", "displayname": f"new {user.user_id}"},
        )  # fmt: skip
    for i in range(4):
        await u1.ok(
            "PUT", f"/rooms/{room}/send/m.room.message/a{i}", json={"body": f"{i}", "msgtype": "m.text"}
        )  # fmt: skip
    await u2.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/b", json={"body": "b", "msgtype": "m.text"}
    )

    async def members(user, flt: str) -> set[str]:
        reply = await user.ok("GET", "/sync", params={**OFFLINE, "filter": flt, "since": token})
        entry = reply["rooms"]["join"][room]
        assert entry["timeline"]["limited"] is True
        senders = [e["sender"] for e in entry["timeline"]["events"]]
        assert senders == [u1.user_id, u2.user_id]
        assert entry["summary"]["m.joined_member_count"] == 6
        return {e["state_key"] for e in entry["state"]["events"] if e["type"] == "m.room.member"}

    # Lazy: the senders (unchanged since the token, but the client may lack
    # them) and one's own changed membership; not u3, who only changed. Bob's
    # initial sync already carried u2's join (in its timeline): not sent again.
    assert await members(bob, lazy) == {u1.user_id, bob.user_id}
    assert await members(carol, lazy) == {u1.user_id, u2.user_id}
    # Without lazy loading: exactly what changed in the gap.
    assert await members(carol, eager) == {u3.user_id, bob.user_id}


async def test_syncs_behind_at_different_tokens_share_one_room_summary_per_position(
    user_factory, services: Services
):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    readers = [await user_factory(f"r{i}") for i in range(3)]
    for reader in readers:
        await reader.ok("POST", f"/join/{room}", json={})
    flt = json.dumps({"room": {"timeline": {"limit": 1}, "state": {"lazy_load_members": True}}})
    tokens = []
    # Each reader's token is from a different point; three messages follow each.
    for i, reader in enumerate(readers):
        tokens.append(
            (await reader.ok("GET", "/sync", params={**OFFLINE, "filter": flt}))["next_batch"]
        )
        for j in range(3):
            body = {"body": f"{i}.{j}", "msgtype": "m.text"}
            await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/m{i}{j}", json=body)
    summaries: list[tuple] = []
    services.sync.rooms_builder.summaries.on_compute = summaries.append

    async def summary_of(reader, token: str) -> dict:
        reply = await reader.ok("GET", "/sync", params={**OFFLINE, "filter": flt, "since": token})
        entry = reply["rooms"]["join"][room]
        assert entry["timeline"]["limited"] is True
        return entry["summary"]

    seen = [await summary_of(r, t) for r, t in zip(readers, tokens, strict=True)]

    assert [key for key in summaries if key[0] == room] == [summaries[0]]
    assert all(s["m.joined_member_count"] == 4 for s in seen)
    # A new position (here a join) gets a fresh summary that counts it.
    late = await user_factory("late")
    await late.ok("POST", f"/join/{room}", json={})
    assert (await summary_of(readers[0], tokens[0]))["m.joined_member_count"] == 5
    assert len([key for key in summaries if key[0] == room]) == 2


async def test_lazy_members_a_device_holds_are_not_resent_unless_its_reply_was_lost(
    user_factory,
):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    bob, carol = await user_factory("bob"), await user_factory("carol")
    for user in (bob, carol):
        await user.ok("POST", f"/join/{room}", json={})
    lazy = {"room": {"timeline": {"limit": 2}, "state": {"lazy_load_members": True}}}
    redundant = {
        "room": {
            "timeline": {"limit": 2},
            "state": {"lazy_load_members": True, "include_redundant_members": True},
        }
    }

    async def say(user, n: int) -> None:
        for i in range(n):
            txn = f"{user.user_id}-{i}-{asyncio.get_running_loop().time()}"
            await user.ok(
                "PUT", f"/rooms/{room}/send/m.room.message/{txn}", json={"body": "x", "msgtype": "m.text"}
            )  # fmt: skip

    async def sync(since: str | None, flt: dict) -> tuple[str, set[str]]:
        params = {**OFFLINE, "filter": json.dumps(flt)}
        if since:
            params["since"] = since
        reply = await bob.ok("GET", "/sync", params=params)
        entry = reply["rooms"]["join"][room]
        held = {e["state_key"] for e in entry["state"]["events"] if e["type"] == "m.room.member"}
        return reply["next_batch"], held

    await say(alice, 3)
    first, sent = await sync(None, lazy)
    assert alice.user_id in sent

    await say(carol, 1)
    await say(alice, 3)
    # A gappy reply: alice talks, and bob already holds her member event.
    second, sent = await sync(first, lazy)
    assert alice.user_id not in sent
    # Asked for redundant members, it comes anyway.
    assert alice.user_id in (await sync(first, redundant))[1]

    await say(carol, 3)
    # Carol's member goes out in a reply bob never acknowledges (lost on the way):
    _, sent = await sync(second, lazy)
    assert carol.user_id in sent
    # so the retry from the same token carries it again,
    third, sent = await sync(second, lazy)
    assert carol.user_id in sent
    # and once bob syncs on from that reply, it is not repeated.
    await say(carol, 3)
    _, sent = await sync(third, lazy)
    assert carol.user_id not in sent
    # A new sync sequence (initial sync) starts from nothing: everything is sent.
    _, sent = await sync(None, lazy)
    assert carol.user_id in sent
