"""Backfilled events are checked and stored with the state before each of them.

A remote server leaves a gap in a room held here; paging back fetches what
is behind it (``/backfill``). What passes is written with the state before
it (computed from the events held here), what its own auth events do not
allow is rejected alone and never reaches the timeline.
"""

from sceau.services.events import EventSpec
from sceau.services.state_history import DEEP_HISTORY
from sceau.storage.received_pdus import REJECTED
from tests.services.federation_support import (
    BOB,
    CREATOR,
    FakePeer,
    RemoteServer,
    extremities,
    make_backfiller,
    next_depth,
    outcomes,
    rename_held_as_state_history,
    room_state,
    room_with_bob,
)


async def _gap(services, remote, peer, room_id, version, join_id, behind):
    """Bob's server sends an event citing ``behind``, which it will not give at once."""
    state = await room_state(services, room_id)
    last_id, last = remote.message(
        version,
        room_id,
        BOB,
        "after the gap",
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
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state_at_join = await room_state(services, room_id)
    lost_id, _ = remote.message(
        version,
        room_id,
        BOB,
        "lost",
        state=state_at_join,
        prev_events=[join_id],
        depth=next_depth(await extremities(services, room_id)),
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
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    forged_id, _ = remote.forged_power_levels(
        version,
        room_id,
        state=state,
        prev_events=[join_id],
        depth=next_depth(await extremities(services, room_id)),
    )
    last_id, last = await _gap(services, remote, peer, room_id, version, join_id, forged_id)
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    peer.backfill_answer = [forged_id]
    assert not await make_backfiller(services, pipeline, peer).backfill(room_id, 10)
    assert await services.stores.events.get_event(forged_id) is None
    assert await outcomes(services, forged_id) == [REJECTED]
    assert (await room_state(services, room_id))[("m.room.power_levels", "")] == state[
        ("m.room.power_levels", "")
    ]


async def test_a_state_event_held_as_state_history_is_backfilled_onto_the_timeline_once(services):
    gap = await rename_held_as_state_history(services, RemoteServer())
    room_id, state, rename_id = gap.room_id, gap.state, gap.rename_id
    peer = gap.peer
    backfiller = make_backfiller(services, gap.pipeline, peer)
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
