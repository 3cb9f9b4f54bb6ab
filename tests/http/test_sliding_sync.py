"""Simplified Sliding Sync (MSC4186) over HTTP: lists, rooms, connections, extensions."""

import asyncio

from tests.http.test_keys_helpers import upload_device

SSS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"


async def _sss(user, body, pos=None, timeout=None, status=200):
    params = {}
    if pos is not None:
        params["pos"] = pos
    if timeout is not None:
        params["timeout"] = str(timeout)
    response = await user.http.post(SSS, json=body, params=params, headers=user.headers)
    assert response.status_code == status, response.text
    return response.json()


async def _send(user, room, body, txn):
    await user.ok(
        "PUT", f"/rooms/{room}/send/m.room.message/{txn}", json={"body": body, "msgtype": "m.text"}
    )


def _all(limit=1, state=None, filters=None):
    lst = {"ranges": [[0, 19]], "timeline_limit": limit, "required_state": state or []}
    if filters is not None:
        lst["filters"] = filters
    return {"conn_id": "main", "lists": {"all": lst}}


async def test_list_returns_rooms_by_recency_with_counts(user_factory):
    alice = await user_factory("alice")
    rooms = [(await alice.ok("POST", "/createRoom", json={}))["room_id"] for _ in range(3)]
    await _send(alice, rooms[0], "dernier", "a")
    body = {"lists": {"top": {"ranges": [[0, 1]], "timeline_limit": 1}}}
    result = await _sss(alice, body)
    assert result["lists"]["top"]["count"] == 3
    assert set(result["rooms"]) == {rooms[0], rooms[2]}
    first = result["rooms"][rooms[0]]
    assert first["bump_stamp"] > result["rooms"][rooms[2]]["bump_stamp"]
    assert first["initial"] is True
    assert first["joined_count"] == 1
    assert [e["content"]["body"] for e in first["timeline"]] == ["dernier"]
    assert first["limited"] is True and first["prev_batch"]
    assert result["pos"]


async def test_required_state_wildcards_me_and_lazy(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat", "name": "Salon"}))[
        "room_id"
    ]
    await bob.ok("POST", f"/join/{room}", json={})
    await carol.ok("POST", f"/join/{room}", json={})
    await _send(bob, room, "salut", "b")
    lazy = await _sss(alice, _all(1, [["m.room.member", "$LAZY"], ["m.room.name", ""]]))
    entry = lazy["rooms"][room]
    assert {(e["type"], e["state_key"]) for e in entry["required_state"]} == {
        ("m.room.member", bob.user_id),
        ("m.room.name", ""),
    }
    assert entry["name"] == "Salon"
    me = await _sss(alice, _all(0, [["m.room.member", "$ME"]]))
    assert [e["state_key"] for e in me["rooms"][room]["required_state"]] == [alice.user_id]
    assert me["rooms"][room]["timeline"] == []
    everything = await _sss(alice, _all(0, [["*", "*"]]))
    types = {e["type"] for e in everything["rooms"][room]["required_state"]}
    assert {"m.room.create", "m.room.name", "m.room.member", "m.room.power_levels"} <= types
    members = await _sss(alice, _all(0, [["m.room.member", "*"]]))
    assert len(members["rooms"][room]["required_state"]) == 3


async def test_room_subscription_returns_the_room_outside_any_list(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await _send(alice, room, "un", "1")
    await _send(alice, room, "deux", "2")
    result = await _sss(alice, {"room_subscriptions": {room: {"timeline_limit": 5}}})
    timeline = result["rooms"][room]["timeline"]
    assert len(timeline) == 5
    assert [e["content"]["body"] for e in timeline[-2:]] == ["un", "deux"]
    assert result["lists"] == {}


async def test_incremental_request_sends_only_the_room_with_news(user_factory):
    alice = await user_factory("alice")
    quiet = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    busy = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    first = await _sss(alice, _all(5))
    assert set(first["rooms"]) == {quiet, busy}
    await _send(alice, busy, "nouveau", "n")
    second = await _sss(alice, _all(5), pos=first["pos"])
    assert set(second["rooms"]) == {busy}
    entry = second["rooms"][busy]
    assert "initial" not in entry
    assert [e["content"]["body"] for e in entry["timeline"]] == ["nouveau"]
    assert entry["num_live"] == 1 and entry["limited"] is False
    third = await _sss(alice, _all(5), pos=second["pos"])
    assert third["rooms"] == {}


async def test_newly_joined_room_arrives_with_initial(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    first = await _sss(bob, _all(3))
    assert first["rooms"] == {} and first["lists"]["all"]["count"] == 0
    await bob.ok("POST", f"/join/{room}", json={})
    second = await _sss(bob, _all(3), pos=first["pos"])
    assert second["rooms"][room]["initial"] is True
    assert second["lists"]["all"]["count"] == 1


async def test_a_room_left_is_sent_once_with_the_leave_then_dropped(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    state = [["m.room.member", "$ME"]]
    first = await _sss(bob, _all(3, state=state))
    assert room in first["rooms"]
    await _send(alice, room, "avant le départ", "d1")
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    await _send(alice, room, "après le départ", "d2")
    second = await _sss(bob, _all(3, state=state), pos=first["pos"])
    entry = second["rooms"][room]
    bodies = [e["content"].get("body") for e in entry["timeline"]]
    assert "avant le départ" in bodies and "après le départ" not in bodies
    own = [e for e in entry["required_state"] if e.get("state_key") == bob.user_id]
    assert own and own[0]["content"]["membership"] == "leave"
    assert second["lists"]["all"]["count"] == 0
    third = await _sss(bob, _all(3, state=state), pos=second["pos"], timeout=100)
    assert room not in third["rooms"]


async def test_a_rejected_invite_is_sent_with_only_the_leave(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok("POST", f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    first = await _sss(bob, _all(3))
    assert "invite_state" in first["rooms"][room]
    await _send(alice, room, "secret", "s1")
    await bob.ok("POST", f"/rooms/{room}/leave", json={})
    second = await _sss(bob, _all(3), pos=first["pos"])
    timeline = second["rooms"][room]["timeline"]
    assert [e["type"] for e in timeline] == ["m.room.member"]
    assert timeline[0]["content"]["membership"] == "leave"


async def test_a_read_receipt_resends_the_room_with_its_new_unread_count(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    await _send(alice, room, "à lire", "r1")
    first = await _sss(bob, _all(1))
    entry = first["rooms"][room]
    assert entry["notification_count"] == 1
    last = entry["timeline"][-1]["event_id"]
    # Bob reads the room (say, on another device): no new event, but the count drops.
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{last}", json={})
    second = await _sss(bob, _all(1), pos=first["pos"])
    assert second["rooms"][room]["notification_count"] == 0
    assert second["rooms"][room]["timeline"] == []


async def test_invite_has_invite_state_and_is_invite_filter_selects_it(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Invitation"}))["room_id"]
    own = (await bob.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok("POST", f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    invites = await _sss(bob, _all(1, filters={"is_invite": True}))
    assert invites["lists"]["all"]["count"] == 1
    entry = invites["rooms"][room]
    assert {e["type"] for e in entry["invite_state"]} >= {"m.room.create", "m.room.member"}
    assert entry["name"] == "Invitation"
    others = await _sss(bob, _all(1, filters={"is_invite": False}))
    assert set(others["rooms"]) == {own}
    encrypted = await _sss(bob, _all(1, filters={"is_encrypted": True, "is_invite": False}))
    assert set(encrypted["rooms"]) == {own}
    public = (await bob.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    clear = await _sss(bob, _all(1, filters={"is_encrypted": False, "is_invite": False}))
    assert set(clear["rooms"]) == {public}
    assert (await _sss(bob, _all(1, filters={"is_dm": True})))["lists"]["all"]["count"] == 0


async def test_long_poll_returns_on_message_and_times_out_empty(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    first = await _sss(alice, _all(3))
    empty = await _sss(alice, _all(3), pos=first["pos"], timeout=100)
    assert empty["rooms"] == {} and empty["lists"]["all"]["count"] == 1
    poll = asyncio.create_task(_sss(alice, _all(3), pos=empty["pos"], timeout=20000))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await _send(alice, room, "réveil", "w")
    result = await asyncio.wait_for(poll, 5)
    assert result["rooms"][room]["timeline"][-1]["content"]["body"] == "réveil"


async def test_to_device_extension_delivers_and_since_acknowledges(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    await alice.ok(
        "PUT",
        "/sendToDevice/m.test/t1",
        json={"messages": {bob.user_id: {bob.device_id: {"n": 1}}}},
    )
    body = {"extensions": {"to_device": {"enabled": True}}}
    first = await _sss(bob, body)
    events = first["extensions"]["to_device"]["events"]
    assert [e["content"] for e in events] == [{"n": 1}]
    since = first["extensions"]["to_device"]["next_batch"]
    again = await _sss(bob, {"extensions": {"to_device": {"enabled": True, "since": since}}})
    assert again["extensions"]["to_device"]["events"] == []


async def test_e2ee_extension_reports_key_counts_and_device_list_changes(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    body = {"extensions": {"e2ee": {"enabled": True}}}
    first = await _sss(bob, body)
    assert first["extensions"]["e2ee"]["device_one_time_keys_count"] == {"signed_curve25519": 0}
    device = await upload_device(bob)
    await bob.ok("POST", "/keys/upload", json={"one_time_keys": device.one_time_keys(2)})
    await upload_device(alice)
    second = await _sss(bob, body, pos=first["pos"])
    e2ee = second["extensions"]["e2ee"]
    assert e2ee["device_one_time_keys_count"]["signed_curve25519"] == 2
    assert alice.user_id in e2ee["device_lists"]["changed"]


async def test_account_data_receipts_and_typing_extensions(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    await bob.ok("POST", f"/join/{room}", json={})
    await alice.ok("PUT", f"/user/{alice.user_id}/account_data/m.test", json={"a": 1})
    await alice.ok("PUT", f"/user/{alice.user_id}/rooms/{room}/account_data/m.tag2", json={"b": 2})
    extensions = {
        "account_data": {"enabled": True},
        "receipts": {"enabled": True},
        "typing": {"enabled": True},
    }
    body = {**_all(1), "extensions": extensions}
    first = await _sss(alice, body)
    data = first["extensions"]["account_data"]
    assert {"type": "m.test", "content": {"a": 1}} in data["global"]
    assert data["rooms"][room] == [{"type": "m.tag2", "content": {"b": 2}}]
    await _send(bob, room, "lu", "r")
    message = (await _sss(alice, body, pos=first["pos"]))["rooms"][room]["timeline"][-1]
    await bob.ok("POST", f"/rooms/{room}/receipt/m.read/{message['event_id']}", json={})
    await bob.ok(
        "PUT", f"/rooms/{room}/typing/{bob.user_id}", json={"typing": True, "timeout": 5000}
    )
    later = await _sss(alice, body, pos=first["pos"])
    receipt = later["extensions"]["receipts"]["rooms"][room]
    assert receipt["type"] == "m.receipt"
    assert bob.user_id in receipt["content"][message["event_id"]]["m.read"]
    typing = later["extensions"]["typing"]["rooms"][room]
    assert typing == {"type": "m.typing", "content": {"user_ids": [bob.user_id]}}
    assert later["extensions"]["account_data"]["global"] == []


async def test_unknown_pos_gets_m_unknown_pos(user_factory):
    alice = await user_factory("alice")
    error = await _sss(alice, _all(1), pos="999999", status=400)
    assert error["errcode"] == "M_UNKNOWN_POS"
    first = await _sss(alice, _all(1))
    other_conn = await _sss(alice, {"conn_id": "other"}, pos=first["pos"], status=400)
    assert other_conn["errcode"] == "M_UNKNOWN_POS"


async def test_bad_bodies_get_bad_json_or_invalid_param(user_factory):
    alice = await user_factory("alice")
    bad_json = [
        {"lists": []},
        {"lists": {"a": {"ranges": "0-5"}}},
        {"lists": {"a": {"ranges": [[0, "5"]]}}},
        {"lists": {"a": {"required_state": [["m.room.name"]]}}},
        {"lists": {"a": {"timeline_limit": "5"}}},
        {"lists": {"a": {"filters": {"is_dm": "yes"}}}},
        {"room_subscriptions": {"!r:x": []}},
        {"extensions": {"to_device": {"enabled": "yes"}}},
    ]
    for body in bad_json:
        assert (await _sss(alice, body, status=400))["errcode"] == "M_BAD_JSON", body
    invalid = [
        {"lists": {"a": {"ranges": [[5, 1]]}}},
        {"lists": {"a": {"timeline_limit": -1}}},
        {"conn_id": 5},
        {"room_subscriptions": {"not-a-room": {}}},
    ]
    for body in invalid:
        assert (await _sss(alice, body, status=400))["errcode"] == "M_INVALID_PARAM", body


async def test_versions_advertises_simplified_sliding_sync(client):
    versions = (await client.get("/_matrix/client/versions")).json()
    assert versions["unstable_features"]["org.matrix.simplified_msc3575"] is True


def _order(result, name="all"):
    """Room IDs of a list's range, by bump_stamp as clients sort them."""
    rooms = result["rooms"]
    return sorted(rooms, key=lambda r: rooms[r]["bump_stamp"], reverse=True)


async def test_joins_topics_and_reactions_do_not_lift_a_room_above_newer_messages(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    older = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    newer = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    message = (
        await alice.ok(
            "PUT", f"/rooms/{older}/send/m.room.message/m1", json={"body": "a", "msgtype": "m.text"}
        )
    )["event_id"]
    await _send(alice, newer, "plus récent", "m2")
    await bob.ok("POST", f"/join/{older}", json={})
    await alice.ok("PUT", f"/rooms/{older}/state/m.room.topic/", json={"topic": "sujet"})
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": message, "key": "👍"}}
    await alice.ok("PUT", f"/rooms/{older}/send/m.reaction/r1", json=reaction)
    result = await _sss(alice, _all(1))
    assert _order(result) == [newer, older]


async def test_a_list_may_choose_its_own_bump_event_types(user_factory):
    alice = await user_factory("alice")
    first = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    second = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await _send(alice, second, "message", "m1")
    await alice.ok("PUT", f"/rooms/{first}/state/m.room.topic/", json={"topic": "t"})
    body = _all(0)
    body["lists"]["all"]["bump_event_types"] = ["m.room.topic"]
    result = await _sss(alice, body)
    assert _order(result) == [first, second]
    bad = _all(0)
    bad["lists"]["all"]["bump_event_types"] = "m.room.topic"
    await _sss(alice, bad, status=400)


async def test_knocked_rooms_are_listed_with_their_knock_state(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    room = (
        await alice.ok(
            "POST",
            "/createRoom",
            json={
                "name": "Sur demande",
                "initial_state": [
                    {
                        "type": "m.room.join_rules",
                        "state_key": "",
                        "content": {"join_rule": "knock"},
                    }
                ],
            },
        )
    )["room_id"]
    await bob.ok("POST", f"/knock/{room}", json={})
    result = await _sss(bob, _all(1))
    entry = result["rooms"][room]
    assert entry["name"] == "Sur demande"
    assert any(e["type"] == "m.room.join_rules" for e in entry["knock_state"])
    assert "timeline" not in entry


async def test_asking_for_more_timeline_or_state_resends_the_room(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Salon"}))["room_id"]
    for i in range(3):
        await _send(alice, room, f"m{i}", f"t{i}")
    first = await _sss(alice, _all(1))
    assert len(first["rooms"][room]["timeline"]) == 1
    same = await _sss(alice, _all(1), pos=first["pos"], timeout=0)
    assert room not in same["rooms"]
    wider = await _sss(alice, _all(3), pos=same["pos"], timeout=0)
    assert [e["content"]["body"] for e in wider["rooms"][room]["timeline"]] == ["m0", "m1", "m2"]
    more_state = await _sss(alice, _all(3, [["m.room.name", ""]]), pos=wider["pos"], timeout=0)
    assert [e["type"] for e in more_state["rooms"][room]["required_state"]] == ["m.room.name"]


async def test_a_refused_or_withdrawn_knock_is_sent_with_the_leave_then_dropped(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    knock_rule = {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}
    refused, withdrawn = [
        (await alice.ok("POST", "/createRoom", json={"initial_state": [knock_rule]}))["room_id"]
        for _ in range(2)
    ]
    for room in (refused, withdrawn):
        await bob.ok("POST", f"/knock/{room}", json={})
    first = await _sss(bob, _all(3))
    assert {refused, withdrawn} <= set(first["rooms"]) and first["lists"]["all"]["count"] == 2
    await alice.ok("POST", f"/rooms/{refused}/kick", json={"user_id": bob.user_id})
    await bob.ok("POST", f"/rooms/{withdrawn}/leave", json={})
    second = await _sss(bob, _all(3), pos=first["pos"])
    assert second["lists"]["all"]["count"] == 0
    for room in (refused, withdrawn):
        timeline = second["rooms"][room]["timeline"]
        # Only the leave: a knocker saw nothing of the room and sees nothing more.
        assert [e["type"] for e in timeline] == ["m.room.member"]
        assert timeline[0]["content"]["membership"] == "leave"
        assert timeline[0]["state_key"] == bob.user_id
    third = await _sss(bob, _all(3), pos=second["pos"], timeout=100)
    assert not {refused, withdrawn} & set(third["rooms"])


async def test_an_accepted_knock_comes_back_as_an_invite(user_factory):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    knock_rule = {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}
    body = {"name": "Sur demande", "initial_state": [knock_rule]}
    room = (await alice.ok("POST", "/createRoom", json=body))["room_id"]
    await bob.ok("POST", f"/knock/{room}", json={})
    first = await _sss(bob, _all(3))
    assert "knock_state" in first["rooms"][room]
    await alice.ok("POST", f"/rooms/{room}/invite", json={"user_id": bob.user_id})
    second = await _sss(bob, _all(3), pos=first["pos"])
    entry = second["rooms"][room]
    assert "knock_state" not in entry
    own = [e for e in entry["invite_state"] if e.get("state_key") == bob.user_id]
    assert own and own[0]["content"]["membership"] == "invite"
    assert second["lists"]["all"]["count"] == 1
    await bob.ok("POST", f"/join/{room}", json={})
    third = await _sss(bob, _all(3, state=[["m.room.member", "$ME"]]), pos=second["pos"])
    joined = third["rooms"][room]
    assert "invite_state" not in joined and joined.get("initial") is True
    assert joined["name"] == "Sur demande"
