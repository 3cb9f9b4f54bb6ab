"""An initial /sync reads all joined rooms together; each room still gets its own
timeline, state, summary and prev_batch, equal to what the room's incremental
entry after a join would hold."""

import json


async def _room_with(owner, members, name=None):
    body = {"preset": "public_chat", **({"name": name} if name else {})}
    room = (await owner.ok("POST", "/createRoom", json=body))["room_id"]
    for member in members:
        await member.ok("POST", f"/join/{room}", json={})
    return room


async def test_each_room_of_an_initial_sync_has_its_own_timeline_state_and_summary(
    user_factory,
):
    alice = await user_factory("alice")
    bob = await user_factory("bob")
    carol = await user_factory("carol")
    named = await _room_with(alice, [bob, carol], name="Salon")
    unnamed = await _room_with(alice, [bob])
    for n in range(3):
        await bob.ok(
            "PUT",
            f"/rooms/{named}/send/m.room.message/n{n}",
            json={"body": f"salon {n}", "msgtype": "m.text"},
        )
    await alice.ok(
        "PUT", f"/rooms/{unnamed}/send/m.room.message/u", json={"body": "x", "msgtype": "m.text"}
    )
    flt = json.dumps({"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 2}}})
    rooms = (await alice.ok("GET", "/sync", params={"filter": flt}))["rooms"]["join"]

    salon = rooms[named]
    assert [e["content"]["body"] for e in salon["timeline"]["events"]] == ["salon 1", "salon 2"]
    assert salon["timeline"]["limited"] is True
    members = {e["state_key"] for e in salon["state"]["events"] if e["type"] == "m.room.member"}
    assert members == {alice.user_id, bob.user_id}  # carol sent nothing in the timeline
    assert "m.room.name" in {e["type"] for e in salon["state"]["events"]}
    assert salon["summary"] == {"m.joined_member_count": 3, "m.invited_member_count": 0}

    other = rooms[unnamed]
    assert other["timeline"]["events"][-1]["content"]["body"] == "x"
    assert other["summary"]["m.heroes"] == [bob.user_id]
    assert other["summary"]["m.joined_member_count"] == 2

    # prev_batch pages back into each room's own history.
    older = await alice.ok(
        "GET",
        f"/rooms/{named}/messages",
        params={"dir": "b", "from": salon["timeline"]["prev_batch"], "limit": 1},
    )
    assert older["chunk"][0]["content"]["body"] == "salon 0"
