"""Soft-failed events stay in the DAG: a later event citing one is placed as usual.

The spec's example (server-server API, "Soft failure"): B bans X, X's event
C cites the state before B and is soft-failed here; another server that saw
C before B sends D citing both. D is handled as normal, the state after C
computed here from C's own prev_events, and C itself stays kept from
clients and from this server's extremities (Synapse does not re-check it
either).
"""

from sceau.services.events import EventSpec
from sceau.storage.received_pdus import ACCEPTED, SOFT_FAILED, ReceivedPduStore
from tests.services.federation_support import (
    CREATOR,
    FakePeer,
    RemoteServer,
    extremities,
    room_state,
)
from tests.services.test_event_graph import BOB, _room_with_bob

CAROL = "@carol:remote.test"


async def _outcomes(services, *event_ids: str) -> list[str | None]:
    found = await ReceivedPduStore(services.stores.db).outcomes(event_ids)
    return [found.get(e) for e in event_ids]


async def _join(remote, version, room_id, user, state, prev, depth, pipeline):
    event_id, pdu = remote.event(
        version,
        room_id,
        user,
        "m.room.member",
        {"membership": "join"},
        state_key=user,
        state=state,
        prev_events=[prev],
        depth=depth,
    )
    assert await pipeline.receive_pdus(remote.name, [pdu]) == {event_id: None}
    return event_id


async def test_an_event_citing_a_soft_failed_one_is_placed_without_fetching_it(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, bob_join, pipeline = await _room_with_bob(services, remote, peer)
    depth = remote.built[bob_join]["depth"] + 1
    carol_join = await _join(
        remote,
        version,
        room_id,
        CAROL,
        await room_state(services, room_id),
        bob_join,
        depth,
        pipeline,
    )
    state_before_ban = await room_state(services, room_id)
    ban_id = await services.events.send(
        room_id, EventSpec("m.room.member", {"membership": "ban"}, CREATOR, state_key=BOB)
    )
    c_id, c = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "evading the ban"},
        state=state_before_ban,
        prev_events=[carol_join],
        depth=depth + 1,
    )
    result = await pipeline.receive_pdus(remote.name, [c])
    assert "soft_failed" in (result[c_id] or "")
    assert list(await extremities(services, room_id)) == [ban_id]
    # Carol's server saw C, then the ban: D merges both branches.
    ban_depth = (await services.stores.events.get_event(ban_id)).pdu["depth"]
    state_at_d = {**state_before_ban, ("m.room.member", BOB): ban_id}
    d_id, d = remote.event(
        version,
        room_id,
        CAROL,
        "m.room.message",
        {"body": "both branches"},
        state=state_at_d,
        prev_events=[ban_id, c_id],
        depth=max(ban_depth, depth + 1) + 1,
    )
    peer.calls.clear()
    assert await pipeline.receive_pdus(remote.name, [d]) == {d_id: None}
    assert peer.calls == []  # C's state was computed here, nothing asked
    assert await _outcomes(services, c_id, d_id) == [SOFT_FAILED, ACCEPTED]
    assert list(await extremities(services, room_id)) == [d_id]
    assert await services.events.graph.load_pdus([c_id])  # in the DAG...
    assert await services.stores.events.get_event(c_id) is None  # ...never on the timeline
    assert await services.stores.state.membership(room_id, BOB) == "ban"
    # Received again, C is not evaluated again.
    again = await pipeline.receive_pdus(remote.name, [c])
    assert "soft-failed before" in (again[c_id] or "")
    assert await services.stores.events.get_event(c_id) is None


async def test_a_soft_failed_state_event_takes_part_in_resolution_when_cited(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, bob_join, pipeline = await _room_with_bob(services, remote, peer)
    depth = remote.built[bob_join]["depth"] + 1
    carol_join = await _join(
        remote,
        version,
        room_id,
        CAROL,
        await room_state(services, room_id),
        bob_join,
        depth,
        pipeline,
    )
    state_before = await room_state(services, room_id)
    # The creator bans Carol; meanwhile, in her server's view still joined,
    # she changes her display name: a state event soft-failed here.
    ban_id = await services.events.send(
        room_id, EventSpec("m.room.member", {"membership": "ban"}, CREATOR, state_key=CAROL)
    )
    rename_id, rename = remote.event(
        version,
        room_id,
        CAROL,
        "m.room.member",
        {"membership": "join", "displayname": "Carol"},
        state_key=CAROL,
        state=state_before,
        prev_events=[carol_join],
        depth=depth + 1,
    )
    result = await pipeline.receive_pdus(remote.name, [rename])
    assert "soft_failed" in (result[rename_id] or "")
    # Bob's server merges the ban and the rename: both states take part in
    # the resolution, and the ban (a power event) wins over Carol's change.
    ban_depth = (await services.stores.events.get_event(ban_id)).pdu["depth"]
    merge_id, merge = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "merge"},
        state=state_before,
        prev_events=[ban_id, rename_id],
        depth=max(ban_depth, depth + 1) + 1,
    )
    peer.calls.clear()
    assert await pipeline.receive_pdus(remote.name, [merge]) == {merge_id: None}
    assert peer.calls == []
    placed = await services.stores.events.get_event(merge_id)
    before = await services.stores.state.get_state_ids(placed.state_group)
    assert before[("m.room.member", CAROL)] == ban_id
    assert await services.stores.state.membership(room_id, CAROL) == "ban"


async def test_a_soft_failed_event_cited_later_in_the_same_transaction_is_found(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, bob_join, pipeline = await _room_with_bob(services, remote, peer)
    depth = remote.built[bob_join]["depth"] + 1
    state = await room_state(services, room_id)
    carol_join = await _join(remote, version, room_id, CAROL, state, bob_join, depth, pipeline)
    state_before_ban = await room_state(services, room_id)
    ban_id = await services.events.send(
        room_id, EventSpec("m.room.member", {"membership": "ban"}, CREATOR, state_key=BOB)
    )
    c_id, c = remote.event(
        version,
        room_id,
        BOB,
        "m.room.message",
        {"body": "evading the ban"},
        state=state_before_ban,
        prev_events=[carol_join],
        depth=depth + 1,
    )
    ban_depth = (await services.stores.events.get_event(ban_id)).pdu["depth"]
    d_id, d = remote.event(
        version,
        room_id,
        CAROL,
        "m.room.message",
        {"body": "both branches"},
        state={**state_before_ban, ("m.room.member", BOB): ban_id},
        prev_events=[ban_id, c_id],
        depth=max(ban_depth, depth + 1) + 1,
    )
    peer.calls.clear()
    # D comes first in the transaction: C, which it cites, is found in the batch.
    result = await pipeline.receive_pdus(remote.name, [d, c])
    assert result[d_id] is None and "soft_failed" in (result[c_id] or "")
    assert peer.calls == []  # nothing asked: C was in the transaction
    assert await _outcomes(services, c_id, d_id) == [SOFT_FAILED, ACCEPTED]
    assert list(await extremities(services, room_id)) == [d_id]
    assert await services.stores.events.get_event(c_id) is None
