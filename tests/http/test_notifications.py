"""Unread notification counts: push rules evaluated at send time, cleared by receipts."""

import json


async def _shared_room(alice, bob, **extra):
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat", **extra}))[
        "room_id"
    ]
    await bob.ok("POST", f"/join/{room}", json={})
    return room


async def _send(user, room, content, txn, event_type="m.room.message"):
    return (await user.ok("PUT", f"/rooms/{room}/send/{event_type}/{txn}", json=content))[
        "event_id"
    ]


def _text(body, **extra):
    return {"msgtype": "m.text", "body": body, **extra}


def _counts(sync, room):
    return sync["rooms"]["join"][room]["unread_notifications"]


async def test_messages_from_others_count_and_own_do_not(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await _send(alice, room, _text("un"), "1")
    await _send(alice, room, _text("deux"), "2")
    await _send(bob, room, _text("moi"), "3")
    assert _counts(await bob.ok("GET", "/sync"), room) == {
        "notification_count": 2,
        "highlight_count": 0,
    }
    assert _counts(await alice.ok("GET", "/sync"), room)["notification_count"] == 1


async def test_mentions_highlight(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await _send(alice, room, _text("salut", **{"m.mentions": {"user_ids": [bob.user_id]}}), "1")
    await _send(alice, room, _text("bob, tu es là ?"), "2")
    await _send(alice, room, _text("rien"), "3")
    assert _counts(await bob.ok("GET", "/sync"), room) == {
        "notification_count": 3,
        "highlight_count": 2,
    }


async def test_receipt_resets_counts_up_to_its_event(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    first = await _send(alice, room, _text("un"), "1")
    await _send(alice, room, _text("deux"), "2")
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{first}", json={})
    after = await bob.ok("GET", f"/sync?since={token}")
    assert _counts(after, room)["notification_count"] == 1


async def test_private_receipt_and_read_markers_also_reset_counts(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    last = await _send(alice, room, _text("un"), "1")
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    await bob.ok("POST", f"/rooms/{room}/read_markers", json={"m.read.private": last})
    assert _counts(await bob.ok("GET", f"/sync?since={token}"), room)["notification_count"] == 0


async def test_disabled_rule_stops_counting(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await bob.ok("PUT", "/pushrules/global/override/.m.rule.master/enabled", json={"enabled": True})
    await _send(alice, room, _text("chut"), "1")
    assert _counts(await bob.ok("GET", "/sync"), room)["notification_count"] == 0


async def test_room_rule_silences_one_room(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    quiet = await _shared_room(alice, bob)
    loud = await _shared_room(alice, bob)
    await bob.ok("PUT", f"/pushrules/global/room/{quiet}", json={"actions": []})
    await _send(alice, quiet, _text("a"), "1")
    await _send(alice, loud, _text("b"), "2")
    sync = await bob.ok("GET", "/sync")
    assert _counts(sync, quiet)["notification_count"] == 0
    assert _counts(sync, loud)["notification_count"] == 1


async def test_encrypted_events_count_through_the_encrypted_rule(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = await _shared_room(alice, bob)
    await carol.ok("POST", f"/join/{room}", json={})
    encrypted = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AAAA", "session_id": "s"}
    await _send(alice, room, encrypted, "1", event_type="m.room.encrypted")
    assert _counts(await bob.ok("GET", "/sync"), room)["notification_count"] == 1


async def test_notices_and_member_events_do_not_count(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await _send(alice, room, {"msgtype": "m.notice", "body": "bot"}, "1")
    carol = await user_factory("carol")
    await carol.ok("POST", f"/join/{room}", json={})
    assert _counts(await bob.ok("GET", "/sync"), room)["notification_count"] == 0


async def test_room_notification_needs_power(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = await _shared_room(alice, bob)
    await carol.ok("POST", f"/join/{room}", json={})
    await _send(carol, room, _text("@room debout", **{"m.mentions": {"room": True}}), "1")
    assert _counts(await bob.ok("GET", "/sync"), room)["highlight_count"] == 0
    await _send(alice, room, _text("@room debout", **{"m.mentions": {"room": True}}), "2")
    assert _counts(await bob.ok("GET", "/sync"), room)["highlight_count"] == 1


async def test_thread_counts_are_split_when_the_filter_asks(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    root = await _send(alice, room, _text("racine"), "1")
    reply = _text("réponse", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    await _send(alice, room, reply, "2")
    await _send(alice, room, dict(reply), "3")
    flt = json.dumps({"room": {"timeline": {"unread_thread_notifications": True}}})
    sync = await bob.ok("GET", "/sync", params={"filter": flt})
    entry = sync["rooms"]["join"][room]
    assert entry["unread_notifications"]["notification_count"] == 1
    assert entry["unread_thread_notifications"][root]["notification_count"] == 2
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{root}", json={"thread_id": "main"})
    after = await bob.ok("GET", "/sync", params={"filter": flt})
    entry = after["rooms"]["join"][room]
    assert entry["unread_notifications"]["notification_count"] == 0
    assert entry["unread_thread_notifications"][root]["notification_count"] == 2
    assert _counts(await bob.ok("GET", "/sync"), room)["notification_count"] == 2


async def test_unread_counts_do_not_make_an_empty_sync_return(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await _send(alice, room, _text("un"), "1")
    token = (await bob.ok("GET", "/sync"))["next_batch"]
    quiet = await bob.ok("GET", f"/sync?since={token}")
    assert "rooms" not in quiet


async def test_display_name_in_any_case_highlights_only_its_owner(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = await _shared_room(alice, bob)
    await carol.ok("POST", f"/join/{room}", json={})
    await bob.ok("PUT", f"/profile/{bob.user_id}/displayname", json={"displayname": "Róbert"})
    await _send(alice, room, _text("RÓBERT, viens voir"), "1")
    await _send(alice, room, _text("Róberta n'est pas là"), "2")
    assert _counts(await bob.ok("GET", "/sync"), room) == {
        "notification_count": 2,
        "highlight_count": 1,
    }
    assert _counts(await carol.ok("GET", "/sync"), room)["highlight_count"] == 0


async def test_invite_is_not_counted_for_joined_members(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = await _shared_room(alice, bob)
    await alice.ok("POST", f"/rooms/{room}/invite", json={"user_id": carol.user_id})
    assert _counts(await bob.ok("GET", "/sync"), room)["notification_count"] == 0


async def test_sync_with_every_ephemeral_section_matches_the_spec_schema(user_factory):
    from tests.http.test_spec_shapes import validator_for

    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, _text("bob ?"), "1")
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{event_id}", json={"thread_id": "main"})
    await bob.ok("POST", f"/rooms/{room}/read_markers", json={"m.fully_read": event_id})
    await alice.ok("PUT", f"/rooms/{room}/typing/{alice.user_id}", json={"typing": True})
    await bob.ok("PUT", f"/user/{bob.user_id}/rooms/{room}/tags/m.favourite", json={"order": 1})
    await bob.ok("PUT", f"/user/{bob.user_id}/account_data/x.y", json={"a": 1})
    await alice.ok("PUT", f"/presence/{alice.user_id}/status", json={"presence": "online"})
    await alice.ok("PUT", f"/rooms/{room}/send/m.room.message/2", json=_text("encore"))
    flt = json.dumps({"room": {"timeline": {"unread_thread_notifications": True}}})
    sync = await bob.ok("GET", "/sync", params={"filter": flt})
    entry = sync["rooms"]["join"][room]
    types = {e["type"] for e in entry["ephemeral"]["events"]}
    assert types == {"m.typing", "m.receipt"}
    assert {e["type"] for e in entry["account_data"]["events"]} == {"m.fully_read", "m.tag"}
    assert {"m.push_rules", "x.y"} <= {e["type"] for e in sync["account_data"]["events"]}
    assert sync["presence"]["events"]
    assert entry["unread_notifications"]["notification_count"] == 1
    errors = list(validator_for("/_matrix/client/v3/sync", "GET", 200).iter_errors(sync))
    assert not errors, [e.message[:200] for e in errors[:5]]


async def test_pushers_and_rules_match_the_spec_schema(user_factory):
    from tests.http.test_spec_shapes import validator_for

    alice = await user_factory("alice")
    await alice.ok(
        "POST",
        "/pushers/set",
        json={
            "kind": "http",
            "app_id": "a",
            "pushkey": "k",
            "app_display_name": "A",
            "device_display_name": "D",
            "lang": "fr",
            "data": {"url": "https://p.example/_matrix/push/v1/notify", "format": "event_id_only"},
        },
    )
    await alice.ok("PUT", "/pushrules/global/content/x", json={"pattern": "x", "actions": []})
    for path, body in [
        ("/_matrix/client/v3/pushers", await alice.ok("GET", "/pushers")),
        ("/_matrix/client/v3/pushrules/", await alice.ok("GET", "/pushrules/")),
    ]:
        errors = list(validator_for(path, "GET", 200).iter_errors(body))
        assert not errors, (path, [e.message[:200] for e in errors[:5]])


async def test_leaving_a_room_drops_its_unread_counts(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    await _send(alice, room, _text("un"), "1")
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    await bob.ok("POST", f"/join/{room}", json={})
    assert _counts(await bob.ok("GET", "/sync"), room)["notification_count"] == 0


async def test_redacted_message_no_longer_counts(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = await _shared_room(alice, bob)
    event_id = await _send(alice, room, _text("oups"), "1")
    await _send(alice, room, _text("reste"), "2")
    await alice.ok("PUT", f"/rooms/{room}/redact/{event_id}/r1", json={})
    assert _counts(await bob.ok("GET", "/sync"), room)["notification_count"] == 1


async def test_concurrent_joins_in_as_many_rooms_as_pool_connections_all_complete(user_factory):
    """Each join evaluates the room owner's push rules inside its own transaction.

    The PostgreSQL test pool holds five connections: twenty joins writing at
    once into twenty rooms hold all of them, so reading the rules through a
    second connection would wait for ever. A hang fails here through wait_for.
    """
    import asyncio

    owners = [await user_factory(f"owner{i}") for i in range(20)]
    joiners = [await user_factory(f"joiner{i}") for i in range(20)]
    rooms = [
        (await owner.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
        for owner in owners
    ]
    joins = [j.ok("POST", f"/join/{room}", json={}) for j, room in zip(joiners, rooms, strict=True)]
    replies = await asyncio.wait_for(asyncio.gather(*joins), timeout=60)
    assert [reply["room_id"] for reply in replies] == rooms
