"""Events fetched to fill gaps pass the auth rules against their own auth events.

What ``state_ids`` (with ``event``) and ``event_auth`` bring is checked
like a PDU of a transaction: an event its own auth events do not allow is
rejected alone, the others are kept as outliers, and a rejected event is no
part of the state it came with.
"""

from sceau.storage.received_pdus import ACCEPTED, OUTLIER, REJECTED
from tests.services.federation_support import (
    BOB,
    CAROL,
    FakePeer,
    RemoteServer,
    ban,
    extremities,
    next_depth,
    outcomes,
    rename_held_as_state_history,
    room_state,
    room_with_bob,
)

PL = ("m.room.power_levels", "")


async def test_a_forged_state_event_in_a_state_ids_answer_is_rejected_alone(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = next_depth(await extremities(services, room_id))
    forged_id, _ = remote.forged_power_levels(
        version, room_id, state=state, prev_events=[join_id], depth=depth
    )
    topic_id, _ = remote.member(
        version,
        room_id,
        BOB,
        {"membership": "join", "displayname": "Bob B."},
        state=state,
        prev_events=[forged_id],
        depth=depth + 1,
    )
    last_id, last = remote.message(
        version,
        room_id,
        BOB,
        "after the gap",
        state=state,
        prev_events=[topic_id],
        depth=depth + 2,
    )
    peer.missing_answer = []
    claimed = {**state, PL: forged_id, ("m.room.member", BOB): topic_id}
    peer.state_answer[topic_id] = (list(claimed.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    assert await outcomes(services, forged_id, topic_id, last_id) == [
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
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = next_depth(await extremities(services, room_id))
    one_id, _ = remote.member(
        version,
        room_id,
        BOB,
        {"membership": "join", "displayname": "one"},
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    two_id, _ = remote.member(
        version,
        room_id,
        BOB,
        {"membership": "join", "displayname": "two"},
        state={**state, ("m.room.member", BOB): one_id},
        prev_events=[one_id],
        depth=depth + 1,
    )
    msg_id, msg = remote.message(
        version,
        room_id,
        BOB,
        "cites an unseen member event",
        state={**state, ("m.room.member", BOB): two_id},
        prev_events=[join_id],
        depth=depth,
    )
    peer.auth_answer = [two_id, one_id]  # newest first: checked in auth order all the same
    assert await pipeline.receive_pdus(remote.name, [msg]) == {msg_id: None}
    assert ("GET", "event_auth") in peer.calls
    assert await outcomes(services, one_id, two_id, msg_id) == [OUTLIER, OUTLIER, ACCEPTED]


async def test_an_event_citing_a_forged_auth_event_from_event_auth_is_rejected(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = next_depth(await extremities(services, room_id))
    forged_id, _ = remote.forged_power_levels(
        version, room_id, state=state, prev_events=[join_id], depth=depth
    )
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
    assert await outcomes(services, forged_id, name_id) == [REJECTED, REJECTED]
    assert ("m.room.name", "") not in await room_state(services, room_id)


async def test_a_fetched_state_event_that_enters_the_current_state_can_be_read(services):
    gap = await rename_held_as_state_history(services, RemoteServer())
    room_id, state, rename_id = gap.room_id, gap.state, gap.rename_id
    assert (await room_state(services, room_id))[("m.room.member", BOB)] == rename_id
    # Clients read the state through the events table: the outlier is there,
    # below the timeline (never news), and what /members shows is Bob's new name.
    stored = await services.stores.events.get_event(rename_id)
    assert stored is not None and stored.stream_pos < 0
    assert stored.content["displayname"] == "Bob B."
    timeline = await services.stores.events.room_events(room_id, limit=5, newest_first=True)
    assert rename_id not in [e.event_id for e in timeline if e.stream_pos > 0]
    # Cited again later, its state is not taken for empty: the event is placed.
    next_id, nxt = gap.remote.message(
        gap.version,
        room_id,
        BOB,
        "from the renamed branch",
        state={**state, ("m.room.member", BOB): rename_id},
        prev_events=[rename_id],
        depth=gap.rename["depth"] + 1,
    )
    assert await gap.pipeline.receive_pdus(gap.remote.name, [nxt]) == {next_id: None}
    placed = await services.stores.events.get_event(next_id)
    seen = await services.stores.state.get_state_ids(placed.state_group)
    assert seen[("m.room.member", BOB)] == rename_id and ("m.room.create", "") in seen


async def test_a_state_ids_answer_that_resets_a_ban_does_not_lift_it(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    before_ban = await room_state(services, room_id)
    carol_id, carol_join = remote.member(
        version,
        room_id,
        CAROL,
        {"membership": "join"},
        state=before_ban,
        prev_events=[join_id],
        depth=next_depth(await extremities(services, room_id)),
    )
    assert await pipeline.receive_pdus(remote.name, [carol_join]) == {carol_id: None}
    joined = await room_state(services, room_id)
    await ban(services, room_id, BOB)
    # Carol's server cites an event it will not give, and claims the state
    # there is the one from before the ban: Bob joined.
    depth = next_depth(await extremities(services, room_id))
    hidden_id, _ = remote.message(
        version,
        room_id,
        CAROL,
        "hidden",
        state=joined,
        prev_events=[carol_id],
        depth=depth,
    )
    last_id, last = remote.message(
        version,
        room_id,
        CAROL,
        "state reset?",
        state=joined,
        prev_events=[hidden_id],
        depth=depth + 1,
    )
    peer.missing_answer = []
    peer.state_answer[hidden_id] = (list(joined.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    assert await services.stores.state.membership(room_id, BOB) == "ban"


async def test_a_state_event_held_as_state_history_is_placed_once_when_sent_later(services):
    gap = await rename_held_as_state_history(services, RemoteServer())
    room_id, rename_id, rename = gap.room_id, gap.rename_id, gap.rename
    ends = await extremities(services, room_id)
    assert gap.last_id in ends
    # The origin now sends the rename itself (a retried transaction, say).
    assert await gap.pipeline.receive_pdus(gap.remote.name, [rename]) == {rename_id: None}
    placed = await services.stores.events.get_event(rename_id)
    assert placed is not None and placed.stream_pos > 0  # on the timeline now
    assert await outcomes(services, rename_id) == [ACCEPTED]
    # Its state is the state before it (after Bob's join), not the join's or the room's.
    assert dict(await services.stores.state.get_state_ids(placed.state_group)) == gap.state
    # Clients get it once, as a new timeline event; the extremities stay as they were.
    tail = services.events.recent.newest(
        room_id, after=placed.stream_pos - 1, before=placed.stream_pos + 1, limit=5
    )
    assert tail is not None and [e.event_id for e in tail] == [rename_id]
    assert await extremities(services, room_id) == ends
    assert (await room_state(services, room_id))[("m.room.member", BOB)] == rename_id
    # Sent again (or fetched through get_missing_events), it is not placed twice.
    assert await gap.pipeline.receive_pdus(gap.remote.name, [rename]) == {rename_id: None}
    rows = await services.stores.db.fetchall(
        "SELECT stream_pos FROM events WHERE event_id = ?", rename_id
    )
    assert [r[0] for r in rows] == [placed.stream_pos]


async def test_a_state_event_held_as_state_history_is_placed_when_get_missing_events_brings_it(
    services,
):
    gap = await rename_held_as_state_history(services, RemoteServer())
    next_id, nxt = gap.remote.message(
        gap.version,
        gap.room_id,
        BOB,
        "from the renamed branch",
        state={**gap.state, ("m.room.member", BOB): gap.rename_id},
        prev_events=[gap.rename_id],
        depth=gap.rename["depth"] + 1,
    )
    gap.peer.missing_answer = [gap.rename_id]
    gap.peer.calls.clear()
    assert await gap.pipeline.receive_pdus(gap.remote.name, [nxt]) == {next_id: None}
    assert ("POST", "get_missing_events") in gap.peer.calls
    rename = await services.stores.events.get_event(gap.rename_id)
    placed = await services.stores.events.get_event(next_id)
    assert rename is not None and 0 < rename.stream_pos < placed.stream_pos
    assert dict(await services.stores.state.get_state_ids(rename.state_group)) == gap.state
    assert await outcomes(services, gap.rename_id, next_id) == [ACCEPTED, ACCEPTED]
