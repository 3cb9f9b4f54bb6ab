"""The state a remote join brings is kept apart from the join's own state.

``send_join`` answers with the room's state before the join. Those events
are held as state history: outliers with no state of their own here (the
state before each of them is another server's), never the join's state.
"""

import pytest

from sceau.errors import MatrixError
from sceau.protocol.room_versions import get_room_version
from sceau.services.state_history import DEEP_HISTORY
from tests.services.federation_support import RemoteServer

CAROL = "@carol:remote.test"
ALICE = "@alice:test.local"
ROOM = "!joined:remote.test"


def _remote_room(remote: RemoteServer) -> tuple[dict, dict]:
    """A public room of the remote server, as send_join gives it: (state, Alice's join)."""
    version = get_room_version("10")
    assert version is not None
    state: dict = {}
    pdus: dict = {}
    prev: list[str] = []
    steps = [
        ("m.room.create", "", CAROL, {"creator": CAROL, "room_version": "10"}),
        ("m.room.member", CAROL, CAROL, {"membership": "join"}),
        ("m.room.power_levels", "", CAROL, {"users": {CAROL: 100}}),
        ("m.room.join_rules", "", CAROL, {"join_rule": "public"}),
        ("m.room.history_visibility", "", CAROL, {"history_visibility": "joined"}),
    ]
    for depth, (event_type, state_key, sender, content) in enumerate(steps, start=1):
        event_id, pdu = remote.event(
            version,
            ROOM,
            sender,
            event_type,
            content,
            state_key=state_key,
            state=state,
            prev_events=prev,
            depth=depth,
        )
        state[(event_type, state_key)] = event_id
        pdus[event_id] = pdu
        prev = [event_id]
    join = remote.event(
        version,
        ROOM,
        ALICE,
        "m.room.member",
        {"membership": "join"},
        state_key=ALICE,
        state=state,
        prev_events=prev,
        depth=len(steps) + 1,
    )
    return pdus, {"id": join[0], "pdu": join[1], "state": state}


async def test_the_state_a_remote_join_brings_has_no_state_of_its_own_here(services):
    remote = RemoteServer()
    pdus, join = _remote_room(remote)
    version = get_room_version("10")
    await services.federation_rooms.remote_rooms.join_remote_room(
        ROOM, version, remote.name, pdus, {}, join["id"], join["pdu"]
    )
    placed = await services.stores.events.get_event(join["id"])
    assert placed is not None and placed.stream_pos > 0
    # The join sees the state the remote server gave.
    before_join = dict(await services.stores.state.get_state_ids(placed.state_group))
    assert before_join == join["state"]
    for event_id in pdus:
        held = await services.stores.events.get_event(event_id)
        assert held is not None and held.stream_pos <= DEEP_HISTORY
        # Not the join's state: none at all (the state before it is not known here).
        assert held.state_group != placed.state_group
        assert dict(await services.stores.state.get_state_ids(held.state_group)) == {}
    # Another server asking for the state at such an event is told it is not known.
    reader = services.federation_rooms.reader
    visibility_id = join["state"][("m.room.history_visibility", "")]
    with pytest.raises(MatrixError) as caught:
        await reader.state_ids(remote.name, ROOM, visibility_id)
    assert caught.value.status == 404
    assert await reader.state_ids(remote.name, ROOM, join["id"])  # the join's is
