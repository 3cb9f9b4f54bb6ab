"""Rooms over HTTP: creation, membership, messages, state and history."""

import pytest


async def test_create_room_then_send_and_read_back(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Cabinet", "topic": "Réunion"}))[
        "room_id"
    ]
    sent = await alice.ok(
        "PUT",
        f"/rooms/{room}/send/m.room.message/t1",
        json={"msgtype": "m.text", "body": "bonjour"},
    )
    event = await alice.ok("GET", f"/rooms/{room}/event/{sent['event_id']}")
    assert event["content"]["body"] == "bonjour"
    assert event["sender"] == alice.user_id
    assert event["unsigned"]["transaction_id"] == "t1"
    name = await alice.ok("GET", f"/rooms/{room}/state/m.room.name")
    assert name == {"name": "Cabinet"}


async def test_send_is_idempotent_per_transaction_id(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    first = await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/same", json={"body": "a", "msgtype": "m.text"}
    )
    again = await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/same", json={"body": "a", "msgtype": "m.text"}
    )
    assert first == again


@pytest.mark.parametrize("version", ["10", "11", "12"])
async def test_room_versions_10_to_12_create_and_chat(user_factory, version):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (
        await alice.ok(
            "POST", "/createRoom", json={"room_version": version, "invite": [bob.user_id]}
        )
    )["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    await bob.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/1", json={"body": "hi", "msgtype": "m.text"}
    )
    create = await alice.ok("GET", f"/rooms/{room}/state/m.room.create")
    assert create["room_version"] == version
    joined = await alice.ok("GET", f"/rooms/{room}/joined_members")
    assert set(joined["joined"]) == {alice.user_id, bob.user_id}


async def test_unknown_room_version_is_rejected(user_factory):
    alice = await user_factory("alice")
    response = await alice.request("POST", "/createRoom", json={"room_version": "999"})
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"


async def test_outsider_cannot_send_or_read(user_factory):
    alice = await user_factory("alice")
    eve = await user_factory("eve")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    response = await eve.request("PUT", f"/rooms/{room}/send/m.room.message/1", json={"body": "x"})
    assert response.status_code == 403
    assert response.json()["errcode"] == "M_FORBIDDEN"
    response = await eve.request("GET", f"/rooms/{room}/messages?dir=b")
    assert response.status_code == 403


async def test_private_room_needs_an_invite_to_join(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "private_chat"}))["room_id"]
    response = await bob.request("POST", f"/rooms/{room}/join", json={})
    assert response.status_code == 403
    await alice.ok("POST", f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    await bob.ok("POST", f"/rooms/{room}/join", json={})


async def test_messages_paginate_backwards_then_forwards(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    for i in range(25):
        await alice.ok(
            "PUT",
            f"/rooms/{room}/send/m.room.message/m{i}",
            json={"body": str(i), "msgtype": "m.text"},
        )
    page = await alice.ok("GET", f"/rooms/{room}/messages?dir=b&limit=10")
    bodies = [e["content"].get("body") for e in page["chunk"]]
    assert bodies == [str(i) for i in range(24, 14, -1)]
    page2 = await alice.ok("GET", f"/rooms/{room}/messages?dir=b&limit=10&from={page['end']}")
    assert [e["content"].get("body") for e in page2["chunk"]] == [str(i) for i in range(14, 4, -1)]
    forward = await alice.ok("GET", f"/rooms/{room}/messages?dir=f&limit=5&from={page2['end']}")
    assert [e["content"].get("body") for e in forward["chunk"]] == [str(i) for i in range(5, 10)]


async def test_redaction_strips_content_and_is_bundled(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    sent = await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/1", json={"body": "secret", "msgtype": "m.text"}
    )
    await alice.ok("PUT", f"/rooms/{room}/redact/{sent['event_id']}/r1", json={"reason": "oops"})
    event = await alice.ok("GET", f"/rooms/{room}/event/{sent['event_id']}")
    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["content"]["reason"] == "oops"


async def test_others_cannot_redact_without_power(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    sent = await alice.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/1", json={"body": "x", "msgtype": "m.text"}
    )
    response = await bob.request("PUT", f"/rooms/{room}/redact/{sent['event_id']}/r", json={})
    assert response.status_code == 403


async def test_kick_ban_unban(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    await alice.ok("POST", f"/rooms/{room}/kick", json={"user_id": bob.user_id, "reason": "bye"})
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert member["membership"] == "leave"
    await alice.ok("POST", f"/rooms/{room}/ban", json={"user_id": bob.user_id})
    assert (await bob.request("POST", f"/join/{room}", json={})).status_code == 403
    await alice.ok("POST", f"/rooms/{room}/unban", json={"user_id": bob.user_id})
    await bob.ok("POST", f"/join/{room}", json={})


async def test_encryption_cannot_be_turned_off(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    encryption = await alice.ok("GET", f"/rooms/{room}/state/m.room.encryption")
    assert encryption["algorithm"] == "m.megolm.v1.aes-sha2"
    response = await alice.request(
        "PUT", f"/rooms/{room}/state/m.room.encryption", json={"algorithm": "none"}
    )
    assert response.status_code == 403
    emptied = await alice.request("PUT", f"/rooms/{room}/state/m.room.encryption", json={})
    assert emptied.status_code == 403
    state = await alice.ok("GET", f"/rooms/{room}/state")
    [event] = [e for e in state if e["type"] == "m.room.encryption"]
    redacted = await alice.request(
        "PUT", f"/rooms/{room}/redact/{event['event_id']}/t1", json={"reason": "off"}
    )
    assert redacted.status_code == 403, "a redaction would empty it and turn encryption off"


async def test_alias_creation_and_join_by_alias(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (
        await alice.ok(
            "POST", "/createRoom", json={"preset": "public_chat", "room_alias_name": "salon"}
        )
    )["room_id"]
    resolved = await bob.ok("GET", "/directory/room/%23salon:test.local")
    assert resolved["room_id"] == room
    joined = await bob.ok("POST", "/join/%23salon:test.local", json={})
    assert joined["room_id"] == room
    response = await alice.request("POST", "/createRoom", json={"room_alias_name": "salon"})
    assert response.json()["errcode"] == "M_ROOM_IN_USE"


async def test_context_returns_events_around(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    ids = []
    for i in range(5):
        ids.append(
            (
                await alice.ok(
                    "PUT", f"/rooms/{room}/send/m.room.message/c{i}", json={"body": str(i)}
                )
            )["event_id"]
        )
    ctx = await alice.ok("GET", f"/rooms/{room}/context/{ids[2]}?limit=2")
    assert ctx["event"]["event_id"] == ids[2]
    assert [e["event_id"] for e in ctx["events_before"]] == [ids[1]]
    assert [e["event_id"] for e in ctx["events_after"]] == [ids[3]]
    assert any(e["type"] == "m.room.create" for e in ctx["state"])


async def test_profile_refresh_updates_member_events_in_joined_rooms(user_factory, services):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.set_profile_field(
            txn, alice.user_id, "displayname", "Alice Martin"
        )
    await services.rooms.refresh_profile_in_rooms(alice.user_id)
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{alice.user_id}")
    assert member == {"membership": "join", "displayname": "Alice Martin"}


async def test_leave_all_rooms_leaves_joined_and_rejects_invites(user_factory, services):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    joined = (await bob.ok("POST", "/createRoom", json={}))["room_id"]
    invited = (await alice.ok("POST", "/createRoom", json={"invite": [bob.user_id]}))["room_id"]
    await services.rooms.leave_all_rooms(bob.user_id)
    assert await services.stores.state.membership(joined, bob.user_id) == "leave"
    assert await services.stores.state.membership(invited, bob.user_id) == "leave"
