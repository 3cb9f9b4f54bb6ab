"""Rooms of every stable version, 1 to 12, receive a remote server's events.

A room is created here in each version; a remote server (its own key, the
version's PDU format: v1/v2 `$id:server` IDs and paired references, v3
standard Base64 IDs, v4+ URL-safe) joins a user, who talks, forks the DAG
and merges it, while a forged power-level change is refused, on both databases.
"""

import pytest

from sceau.protocol.event_format import prev_event_ids
from sceau.protocol.pdu import parse_pdu
from sceau.services.events import EventSpec
from tests.services.federation_support import (
    BOB,
    CREATOR,
    RemoteServer,
    extremities,
    room_state,
    room_with_bob,
)

VERSIONS = [str(n) for n in range(1, 13)]


async def _room_with_bob(services, version_id: str, remote: RemoteServer):
    room_id, version, join_id, pipeline = await room_with_bob(
        services, remote, room_version=version_id
    )
    assert version.identifier == version_id
    assert parse_pdu(remote.built[join_id], version).event_id == join_id
    return room_id, version, join_id, pipeline


def _message(sender: str, body: str) -> EventSpec:
    return EventSpec("m.room.message", {"msgtype": "m.text", "body": body}, sender)


@pytest.mark.parametrize("version_id", VERSIONS)
async def test_remote_user_joins_and_talks_in_every_version(services, version_id):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await _room_with_bob(services, version_id, remote)
    assert await services.stores.state.membership(room_id, BOB) == "join"
    if version.server_event_ids:
        assert join_id.endswith(":remote.test")
    state = await room_state(services, room_id)
    depth = max((await extremities(services, room_id)).values()) + 1
    msg_id, msg = remote.event(
        version, room_id, BOB, "m.room.message", {"body": "hi"},
        state=state, prev_events=[join_id], depth=depth,
    )  # fmt: skip
    assert await pipeline.receive_pdus(remote.name, [msg]) == {msg_id: None}
    stored = await services.stores.events.get_event(msg_id)
    assert stored is not None and stored.pdu["content"] == {"body": "hi"}
    reply_id = await services.events.send(room_id, _message(CREATOR, "hello bob"))
    reply = (await services.stores.events.get_event(reply_id)).pdu
    assert prev_event_ids(reply) == [msg_id]
    assert parse_pdu(reply, version).event_id == reply_id


@pytest.mark.parametrize("version_id", VERSIONS)
async def test_a_fork_is_merged_and_the_state_resolved_in_every_version(services, version_id):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await _room_with_bob(services, version_id, remote)
    before_topic = await room_state(services, room_id)
    topic_id = await services.events.send(
        room_id, EventSpec("m.room.topic", {"topic": "agenda"}, CREATOR, state_key="")
    )
    # Bob's message on the old branch: two extremities.
    fork_id, fork = remote.event(
        version, room_id, BOB, "m.room.message", {"body": "fork"},
        state=before_topic, prev_events=[join_id], depth=remote.built[join_id]["depth"] + 1,
    )  # fmt: skip
    assert await pipeline.receive_pdus(remote.name, [fork]) == {fork_id: None}
    assert set(await extremities(services, room_id)) == {topic_id, fork_id}
    # Bob's next event cites both branches: its state before is a resolution.
    ext = await extremities(services, room_id)
    merge_id, merge = remote.event(
        version, room_id, BOB, "m.room.message", {"body": "merge"},
        state=await room_state(services, room_id),
        prev_events=sorted(ext), depth=max(ext.values()) + 1,
    )  # fmt: skip
    assert await pipeline.receive_pdus(remote.name, [merge]) == {merge_id: None}
    assert list(await extremities(services, room_id)) == [merge_id]
    state = await room_state(services, room_id)
    assert state[("m.room.topic", "")] == topic_id
    assert state[("m.room.member", BOB)] == join_id


@pytest.mark.parametrize("version_id", VERSIONS)
async def test_a_forged_power_level_change_is_refused_in_every_version(services, version_id):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await _room_with_bob(services, version_id, remote)
    state = await room_state(services, room_id)
    pl_id = state[("m.room.power_levels", "")]
    pl = (await services.stores.events.get_event(pl_id)).pdu["content"]
    forged_id, forged = remote.event(
        version, room_id, BOB, "m.room.power_levels",
        {**pl, "users": {**pl.get("users", {}), BOB: 100}}, state_key="",
        state=state, prev_events=[join_id], depth=remote.built[join_id]["depth"] + 1,
    )  # fmt: skip
    result = await pipeline.receive_pdus(remote.name, [forged])
    assert result[forged_id] is not None
    assert (await room_state(services, room_id))[("m.room.power_levels", "")] == pl_id
