"""Soft-failed events stay in the DAG: a later event citing one is placed as usual.

The spec's example (server-server API, "Soft failure"): B bans X, X's event
C cites the state before B and is soft-failed here; another server that saw
C before B sends D citing both. D is handled as normal, the state after C
computed here from C's own prev_events, and C itself stays kept from
clients and from this server's extremities (Synapse does not re-check it
either).
"""

from dataclasses import dataclass

from sceau.protocol.room_versions import RoomVersion
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.storage.received_pdus import ACCEPTED, SOFT_FAILED
from tests.services.federation_support import (
    BOB,
    CAROL,
    FakePeer,
    RemoteServer,
    ban,
    depth_of,
    extremities,
    outcomes,
    room_state,
    room_with_bob,
)


@dataclass
class CarolJoined:
    """A room made here that Bob, then Carol, of the remote server joined."""

    remote: RemoteServer
    peer: FakePeer
    pipeline: PduPipeline
    room_id: str
    version: RoomVersion
    carol_join: str
    #: The depth of the remote server's next event after Carol's join.
    depth: int
    #: The room's state once Carol joined.
    state: dict


async def _carol_joined(services) -> CarolJoined:
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, bob_join, pipeline = await room_with_bob(services, remote, peer)
    depth = remote.built[bob_join]["depth"] + 1
    carol_join, join = remote.member(
        version,
        room_id,
        CAROL,
        {"membership": "join"},
        state=await room_state(services, room_id),
        prev_events=[bob_join],
        depth=depth,
    )
    assert await pipeline.receive_pdus(remote.name, [join]) == {carol_join: None}
    state = await room_state(services, room_id)
    return CarolJoined(remote, peer, pipeline, room_id, version, carol_join, depth + 1, state)


async def _evasion_and_merge(services, room: CarolJoined, ban_id: str):
    """C: Bob talks past his ban (his server had not seen it); D: Carol merges the ban and C."""
    c_id, c = room.remote.message(
        room.version,
        room.room_id,
        BOB,
        "evading the ban",
        state=room.state,
        prev_events=[room.carol_join],
        depth=room.depth,
    )
    d_id, d = room.remote.message(
        room.version,
        room.room_id,
        CAROL,
        "both branches",
        state={**room.state, ("m.room.member", BOB): ban_id},
        prev_events=[ban_id, c_id],
        depth=max(await depth_of(services, ban_id), room.depth) + 1,
    )
    return (c_id, c), (d_id, d)


async def test_an_event_citing_a_soft_failed_one_is_placed_without_fetching_it(services):
    room = await _carol_joined(services)
    room_id, pipeline, peer, remote = room.room_id, room.pipeline, room.peer, room.remote
    ban_id = await ban(services, room_id, BOB)
    (c_id, c), (d_id, d) = await _evasion_and_merge(services, room, ban_id)
    result = await pipeline.receive_pdus(remote.name, [c])
    assert "soft_failed" in (result[c_id] or "")
    assert list(await extremities(services, room_id)) == [ban_id]
    # Carol's server saw C, then the ban: D merges both branches.
    peer.calls.clear()
    assert await pipeline.receive_pdus(remote.name, [d]) == {d_id: None}
    assert peer.calls == []  # C's state was computed here, nothing asked
    assert await outcomes(services, c_id, d_id) == [SOFT_FAILED, ACCEPTED]
    assert list(await extremities(services, room_id)) == [d_id]
    assert await services.events.graph.load_pdus([c_id])  # in the DAG...
    assert await services.stores.events.get_event(c_id) is None  # ...never on the timeline
    assert await services.stores.state.membership(room_id, BOB) == "ban"
    # Received again, C is not evaluated again.
    again = await pipeline.receive_pdus(remote.name, [c])
    assert "soft-failed before" in (again[c_id] or "")
    assert await services.stores.events.get_event(c_id) is None


async def test_a_soft_failed_state_event_takes_part_in_resolution_when_cited(services):
    room = await _carol_joined(services)
    room_id, pipeline, peer, remote = room.room_id, room.pipeline, room.peer, room.remote
    # The creator bans Carol; meanwhile, in her server's view still joined,
    # she changes her display name: a state event soft-failed here.
    ban_id = await ban(services, room_id, CAROL)
    rename_id, rename = remote.member(
        room.version,
        room_id,
        CAROL,
        {"membership": "join", "displayname": "Carol"},
        state=room.state,
        prev_events=[room.carol_join],
        depth=room.depth,
    )
    result = await pipeline.receive_pdus(remote.name, [rename])
    assert "soft_failed" in (result[rename_id] or "")
    # Bob's server merges the ban and the rename: both states take part in
    # the resolution, and the ban (a power event) wins over Carol's change.
    merge_id, merge = remote.message(
        room.version,
        room_id,
        BOB,
        "merge",
        state=room.state,
        prev_events=[ban_id, rename_id],
        depth=max(await depth_of(services, ban_id), room.depth) + 1,
    )
    peer.calls.clear()
    assert await pipeline.receive_pdus(remote.name, [merge]) == {merge_id: None}
    assert peer.calls == []
    placed = await services.stores.events.get_event(merge_id)
    before = await services.stores.state.get_state_ids(placed.state_group)
    assert before[("m.room.member", CAROL)] == ban_id
    assert await services.stores.state.membership(room_id, CAROL) == "ban"


async def test_a_soft_failed_event_cited_later_in_the_same_transaction_is_found(services):
    room = await _carol_joined(services)
    ban_id = await ban(services, room.room_id, BOB)
    (c_id, c), (d_id, d) = await _evasion_and_merge(services, room, ban_id)
    room.peer.calls.clear()
    # D comes first in the transaction: C, which it cites, is found in the batch.
    result = await room.pipeline.receive_pdus(room.remote.name, [d, c])
    assert result[d_id] is None and "soft_failed" in (result[c_id] or "")
    assert room.peer.calls == []  # nothing asked: C was in the transaction
    assert await outcomes(services, c_id, d_id) == [SOFT_FAILED, ACCEPTED]
    assert list(await extremities(services, room.room_id)) == [d_id]
    assert await services.stores.events.get_event(c_id) is None
