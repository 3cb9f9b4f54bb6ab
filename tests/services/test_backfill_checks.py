"""Backfilled events are checked and stored with the state before each of them.

A remote server leaves a gap in a room held here; paging back fetches what
is behind it (``/backfill``). What passes is written with the state before
it (computed from the events held here), what its own auth events do not
allow is rejected alone and never reaches the timeline.
"""

from sceau.services.events import EventSpec
from sceau.storage.received_pdus import REJECTED, ReceivedPduStore
from tests.services.federation_support import (
    CREATOR,
    FakePeer,
    RemoteServer,
    extremities,
    make_backfiller,
    room_state,
)
from tests.services.test_event_graph import BOB, _room_with_bob, msg_depth


async def _gap(services, remote, peer, room_id, version, join_id, behind):
    """Bob's server sends an event citing ``behind``, which it will not give at once."""
    state = await room_state(services, room_id)
    last_id, last = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "after the gap"},
        state=state,
        prev_events=[behind],
        depth=remote.built[behind]["depth"] + 1,
    )
    peer.missing_answer = []
    peer.state_answer[behind] = (list(state.values()), [])
    return last_id, last


async def test_a_backfilled_event_gets_the_state_before_it_from_its_prev_events(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    state_at_join = await room_state(services, room_id)
    lost_id, _ = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "lost"},
        state=state_at_join,
        prev_events=[join_id],
        depth=msg_depth(await extremities(services, room_id)),
    )
    last_id, last = await _gap(services, remote, peer, room_id, version, join_id, lost_id)
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    # Meanwhile the room moves on: a topic that the lost message never saw.
    await services.events.send(
        room_id,
        EventSpec("m.room.topic", {"topic": "later"}, CREATOR, state_key=""),
    )
    peer.backfill_answer = [lost_id]
    assert await make_backfiller(services, pipeline, peer).backfill(room_id, 10)
    stored = await services.stores.events.get_event(lost_id)
    assert stored is not None and stored.stream_pos < 0
    assert dict(await services.stores.state.get_state_ids(stored.state_group)) == state_at_join


async def test_a_forged_event_in_a_backfill_answer_is_rejected_and_not_written(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await _room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    forged_id, _ = remote.event(
        version,
        room_id,
        BOB,
        "m.room.power_levels",
        {"users": {BOB: 100}},
        state_key="",
        state=state,
        prev_events=[join_id],
        depth=msg_depth(await extremities(services, room_id)),
    )
    last_id, last = await _gap(services, remote, peer, room_id, version, join_id, forged_id)
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    peer.backfill_answer = [forged_id]
    assert not await make_backfiller(services, pipeline, peer).backfill(room_id, 10)
    assert await services.stores.events.get_event(forged_id) is None
    outcomes = await ReceivedPduStore(services.stores.db).outcomes([forged_id])
    assert outcomes[forged_id] == REJECTED
    assert (await room_state(services, room_id))[("m.room.power_levels", "")] == state[
        ("m.room.power_levels", "")
    ]


async def test_a_state_event_held_as_state_history_is_backfilled_onto_the_timeline_once(services):
    from sceau.services.state_history import DEEP_HISTORY
    from tests.services.test_fetched_events_auth import _rename_held_as_state_history

    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, pipeline, state, (rename_id, _), _last = await _rename_held_as_state_history(
        services, remote, peer
    )
    backfiller = make_backfiller(services, pipeline, peer)
    # Held as state history only, the rename is a gap behind the event citing it.
    assert rename_id in (await backfiller.gaps(room_id))[0]
    peer.backfill_answer = [rename_id]
    assert await backfiller.backfill(room_id, 10)
    stored = await services.stores.events.get_event(rename_id)
    assert stored is not None and DEEP_HISTORY < stored.stream_pos < 0
    assert dict(await services.stores.state.get_state_ids(stored.state_group)) == state
    assert not await backfiller.backfill(room_id, 10)  # nothing is placed twice
    rows = await services.stores.db.fetchall(
        "SELECT stream_pos FROM events WHERE event_id = ?", rename_id
    )
    assert [r[0] for r in rows] == [stored.stream_pos]
    assert (await room_state(services, room_id))[("m.room.member", BOB)] == rename_id
