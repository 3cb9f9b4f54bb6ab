"""Events fetched to fill gaps pass the auth rules against their own auth events.

What ``state_ids`` (with ``event``) and ``event_auth`` bring is checked
like a PDU of a transaction: an event its own auth events do not allow is
rejected alone, the others are kept as outliers, and a rejected event is no
part of the state it came with.
"""

from sceau.storage.received_pdus import ACCEPTED, OUTLIER, REJECTED, ReceivedPduStore
from tests.services.federation_support import FakePeer, RemoteServer, extremities, room_state
from tests.services.test_event_graph import BOB, _room_with_bob, msg_depth

PL = ("m.room.power_levels", "")


async def _outcomes(services, *event_ids: str) -> list[str | None]:
    found = await ReceivedPduStore(services.stores.db).outcomes(event_ids)
    return [found.get(e) for e in event_ids]


def _forged_power_levels(remote, version, room_id, state, prev, depth):
    """Bob, at power 0, gives himself 100: well signed, not allowed by its auth events."""
    return remote.event(
        version,
        room_id,
        BOB,
        "m.room.power_levels",
        {"users": {BOB: 100}},
        state_key="",
        state=state,
        prev_events=[prev],
        depth=depth,
    )


async def test_a_forged_state_event_in_a_state_ids_answer_is_rejected_alone(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = msg_depth(await extremities(services, room_id))
    forged_id, _ = _forged_power_levels(remote, version, room_id, state, join_id, depth)
    topic_id, _ = remote.event(
        version,
        room_id,
        BOB,
        "m.room.member",
        {"membership": "join", "displayname": "Bob B."},
        state_key=BOB,
        state=state,
        prev_events=[forged_id],
        depth=depth + 1,
    )
    last_id, last = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "after the gap"},
        state=state,
        prev_events=[topic_id],
        depth=depth + 2,
    )
    peer.missing_answer = []
    claimed = {**state, PL: forged_id, ("m.room.member", BOB): topic_id}
    peer.state_answer[topic_id] = (list(claimed.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    assert await _outcomes(services, forged_id, topic_id, last_id) == [
        REJECTED,
        OUTLIER,
        ACCEPTED,
    ]
    current = await room_state(services, room_id)
    assert current[PL] == state[PL]
    assert current[("m.room.member", BOB)] == topic_id
    placed = await services.stores.events.get_event(last_id)
    before = await services.stores.state.get_state_ids(placed.state_group)
    assert forged_id not in before.values()


async def test_an_auth_chain_from_event_auth_is_checked_in_order_and_kept(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = msg_depth(await extremities(services, room_id))
    one_id, _ = remote.event(
        version,
        room_id,
        BOB,
        "m.room.member",
        {"membership": "join", "displayname": "one"},
        state_key=BOB,
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    two_id, _ = remote.event(
        version,
        room_id,
        BOB,
        "m.room.member",
        {"membership": "join", "displayname": "two"},
        state_key=BOB,
        state={**state, ("m.room.member", BOB): one_id},
        prev_events=[one_id],
        depth=depth + 1,
    )
    msg_id, msg = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "cites an unseen member event"},
        state={**state, ("m.room.member", BOB): two_id},
        prev_events=[join_id],
        depth=depth,
    )
    peer.auth_answer = [two_id, one_id]  # newest first: checked in auth order all the same
    assert await pipeline.receive_pdus(remote.name, [msg]) == {msg_id: None}
    assert ("GET", "event_auth") in peer.calls
    assert await _outcomes(services, one_id, two_id, msg_id) == [OUTLIER, OUTLIER, ACCEPTED]


async def test_an_event_citing_a_forged_auth_event_from_event_auth_is_rejected(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = msg_depth(await extremities(services, room_id))
    forged_id, _ = _forged_power_levels(remote, version, room_id, state, join_id, depth)
    name_id, name = remote.event(
        version,
        room_id,
        BOB,
        "m.room.name",
        {"name": "taken over"},
        state_key="",
        state={**state, PL: forged_id},
        prev_events=[join_id],
        depth=depth,
    )
    peer.auth_answer = [forged_id]
    result = await pipeline.receive_pdus(remote.name, [name])
    assert result[name_id] is not None and "rejected auth event" in result[name_id]
    assert await _outcomes(services, forged_id, name_id) == [REJECTED, REJECTED]
    assert ("m.room.name", "") not in await room_state(services, room_id)


async def test_a_fetched_state_event_that_enters_the_current_state_can_be_read(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = msg_depth(await extremities(services, room_id))
    rename_id, _ = remote.event(
        version,
        room_id,
        BOB,
        "m.room.member",
        {"membership": "join", "displayname": "Bob B."},
        state_key=BOB,
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    last_id, last = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "after the gap"},
        state={**state, ("m.room.member", BOB): rename_id},
        prev_events=[rename_id],
        depth=depth + 1,
    )
    peer.missing_answer = []
    peer.auth_answer = [rename_id]
    peer.state_answer[rename_id] = (list(state.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    assert (await room_state(services, room_id))[("m.room.member", BOB)] == rename_id
    # Clients read the state through the events table: the outlier is there,
    # below the timeline (never news), and what /members shows is Bob's new name.
    stored = await services.stores.events.get_event(rename_id)
    assert stored is not None and stored.stream_pos < 0
    assert stored.content["displayname"] == "Bob B."
    timeline = await services.stores.events.room_events(room_id, limit=5, newest_first=True)
    assert rename_id not in [e.event_id for e in timeline if e.stream_pos > 0]
    # Cited again later, its state is not taken for empty: the event is placed.
    next_id, nxt = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "from the renamed branch"},
        state={**state, ("m.room.member", BOB): rename_id},
        prev_events=[rename_id],
        depth=depth + 1,
    )
    assert await pipeline.receive_pdus(remote.name, [nxt]) == {next_id: None}
    placed = await services.stores.events.get_event(next_id)
    seen = await services.stores.state.get_state_ids(placed.state_group)
    assert seen[("m.room.member", BOB)] == rename_id and ("m.room.create", "") in seen


async def test_a_state_ids_answer_that_resets_a_ban_does_not_lift_it(services):
    from sceau.services.events import EventSpec
    from tests.services.federation_support import CREATOR

    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    carol = "@carol:remote.test"
    before_ban = await room_state(services, room_id)
    carol_id, carol_join = remote.event(
        version,
        room_id,
        carol,
        "m.room.member",
        {"membership": "join"},
        state_key=carol,
        state=before_ban,
        prev_events=[join_id],
        depth=msg_depth(await extremities(services, room_id)),
    )
    assert await pipeline.receive_pdus(remote.name, [carol_join]) == {carol_id: None}
    joined = await room_state(services, room_id)
    await services.events.send(
        room_id, EventSpec("m.room.member", {"membership": "ban"}, CREATOR, state_key=BOB)
    )
    # Carol's server cites an event it will not give, and claims the state
    # there is the one from before the ban: Bob joined.
    depth = msg_depth(await extremities(services, room_id))
    hidden_id, _ = remote.event(
        version,
        room_id,
        carol,
        "m.room.message",
        {"body": "hidden"},
        state=joined,
        prev_events=[carol_id],
        depth=depth,
    )
    last_id, last = remote.event(
        version,
        room_id,
        carol,
        "m.room.message",
        {"body": "state reset?"},
        state=joined,
        prev_events=[hidden_id],
        depth=depth + 1,
    )
    peer.missing_answer = []
    peer.state_answer[hidden_id] = (list(joined.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    assert await services.stores.state.membership(room_id, BOB) == "ban"


async def _rename_held_as_state_history(services, remote, peer):
    """Bob's rename reaches the room's state through a gap: held as state history only."""
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = msg_depth(await extremities(services, room_id))
    rename_id, rename = remote.event(
        version,
        room_id,
        BOB,
        "m.room.member",
        {"membership": "join", "displayname": "Bob B."},
        state_key=BOB,
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    last_id, last = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "after the gap"},
        state={**state, ("m.room.member", BOB): rename_id},
        prev_events=[rename_id],
        depth=depth + 1,
    )
    peer.missing_answer = []
    peer.auth_answer = [rename_id]
    peer.state_answer[rename_id] = (list(state.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    held = await services.stores.events.get_event(rename_id)
    assert held is not None and held.stream_pos < 0  # state history, not the timeline
    return room_id, pipeline, state, (rename_id, rename), last_id


async def test_a_state_event_held_as_state_history_is_placed_once_when_sent_later(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, pipeline, state, (rename_id, rename), last_id = await _rename_held_as_state_history(
        services, remote, peer
    )
    ends = await extremities(services, room_id)
    assert last_id in ends
    # The origin now sends the rename itself (a retried transaction, say).
    assert await pipeline.receive_pdus(remote.name, [rename]) == {rename_id: None}
    placed = await services.stores.events.get_event(rename_id)
    assert placed is not None and placed.stream_pos > 0  # on the timeline now
    assert await _outcomes(services, rename_id) == [ACCEPTED]
    # Its state is the state before it (after Bob's join), not the join's or the room's.
    assert dict(await services.stores.state.get_state_ids(placed.state_group)) == state
    # Clients get it once, as a new timeline event; the extremities stay as they were.
    tail = services.events.recent.newest(
        room_id, after=placed.stream_pos - 1, before=placed.stream_pos + 1, limit=5
    )
    assert tail is not None and [e.event_id for e in tail] == [rename_id]
    assert await extremities(services, room_id) == ends
    assert (await room_state(services, room_id))[("m.room.member", BOB)] == rename_id
    # Sent again (or fetched through get_missing_events), it is not placed twice.
    assert await pipeline.receive_pdus(remote.name, [rename]) == {rename_id: None}
    rows = await services.stores.db.fetchall(
        "SELECT stream_pos FROM events WHERE event_id = ?", rename_id
    )
    assert [r[0] for r in rows] == [placed.stream_pos]
