"""Received events join the room's DAG: forks, merges, soft-fail, rejection, gaps.

A remote server (a signing key and the PDUs it builds) sends events into a
room created here, through the receive pipeline, on both databases.
"""

import orjson
import pytest

from sceau.protocol.room_versions import get_room_version
from sceau.services.events import EventSpec
from sceau.storage.received_pdus import ACCEPTED, OUTLIER, REJECTED, SOFT_FAILED
from tests.services.federation_support import (
    BOB,
    CREATOR,
    FakePeer,
    RemoteServer,
    ban,
    extremities,
    make_pipeline,
    next_depth,
    outcomes,
    room_state,
    room_with_bob,
)


def _message(sender: str, body: str) -> EventSpec:
    return EventSpec("m.room.message", {"msgtype": "m.text", "body": body}, sender)


async def test_a_remote_join_and_message_reach_the_room_like_local_events(services):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await room_with_bob(services, remote)
    assert await services.stores.state.membership(room_id, BOB) == "join"
    state = await room_state(services, room_id)
    msg_id, msg = remote.message(
        version,
        room_id,
        BOB,
        "hi",
        state=state,
        prev_events=[join_id],
        depth=next_depth(await extremities(services, room_id)),
    )
    assert await pipeline.receive_pdus(remote.name, [msg]) == {msg_id: None}
    stored = await services.stores.events.get_event(msg_id)
    assert stored is not None and stored.pdu["content"] == {"body": "hi"}
    assert await outcomes(services, msg_id) == [ACCEPTED]
    assert list(await extremities(services, room_id)) == [msg_id]
    # The in-memory tail that /sync reads holds it, as for a local send.
    tail = services.events.recent.newest(
        room_id, after=stored.stream_pos - 1, before=stored.stream_pos + 1, limit=5
    )
    assert tail is not None and [e.event_id for e in tail] == [msg_id]
    # A local reply cites it and sits one deeper.
    reply = await services.events.send(room_id, _message(CREATOR, "hello bob"))
    pdu = (await services.stores.events.get_event(reply)).pdu
    assert pdu["prev_events"] == [msg_id] and pdu["depth"] == msg["depth"] + 1


async def test_a_fork_leaves_two_extremities_and_the_next_local_send_merges_them(services):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await room_with_bob(services, remote)
    state = await room_state(services, room_id)
    local_id = await services.events.send(room_id, _message(CREATOR, "local"))
    fork_id, fork = remote.message(
        version,
        room_id,
        BOB,
        "fork",
        state=state,
        prev_events=[join_id],
        depth=remote.built[join_id]["depth"] + 1,
    )
    assert await pipeline.receive_pdus(remote.name, [fork]) == {fork_id: None}
    assert set(await extremities(services, room_id)) == {local_id, fork_id}
    merge_id = await services.events.send(room_id, _message(CREATOR, "merge"))
    merge = (await services.stores.events.get_event(merge_id)).pdu
    assert set(merge["prev_events"]) == {local_id, fork_id}
    local_depth = (await services.stores.events.get_event(local_id)).pdu["depth"]
    assert merge["depth"] == max(local_depth, fork["depth"]) + 1
    assert list(await extremities(services, room_id)) == [merge_id]


async def test_a_forged_power_level_change_is_rejected_and_changes_nothing(services):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await room_with_bob(services, remote)
    state = await room_state(services, room_id)
    pl_id = state[("m.room.power_levels", "")]
    pl = (await services.stores.events.get_event(pl_id)).pdu["content"]
    forged_id, forged = remote.forged_power_levels(
        version,
        room_id,
        state=state,
        prev_events=[join_id],
        depth=next_depth(await extremities(services, room_id)),
        based_on=pl,
    )
    result = await pipeline.receive_pdus(remote.name, [forged])
    assert result[forged_id] is not None
    assert await outcomes(services, forged_id) == [REJECTED]
    assert (await room_state(services, room_id))[("m.room.power_levels", "")] == pl_id
    assert await services.stores.events.get_event(forged_id) is None
    # A later event citing the forged one as an auth event is rejected too.
    after_id, after = remote.message(
        version,
        room_id,
        BOB,
        "I am admin",
        state={**state, ("m.room.power_levels", ""): forged_id},
        prev_events=[forged_id],
        depth=forged["depth"] + 1,
    )
    result = await pipeline.receive_pdus(remote.name, [after])
    assert result[after_id] is not None
    assert await services.stores.events.get_event(after_id) is None


async def test_a_message_racing_a_ban_is_soft_failed_and_kept_from_clients(services):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await room_with_bob(services, remote)
    state_at_join = await room_state(services, room_id)
    ban_id = await ban(services, room_id, BOB)
    # Bob's server had not seen the ban: its message cites his join.
    msg_id, msg = remote.message(
        version,
        room_id,
        BOB,
        "too late",
        state=state_at_join,
        prev_events=[join_id],
        depth=remote.built[join_id]["depth"] + 1,
    )
    result = await pipeline.receive_pdus(remote.name, [msg])
    assert result[msg_id] is not None and "soft_failed" in result[msg_id]
    assert await outcomes(services, msg_id) == [SOFT_FAILED]
    assert await services.stores.events.get_event(msg_id) is None
    assert list(await extremities(services, room_id)) == [ban_id]
    assert await services.stores.state.membership(room_id, BOB) == "ban"
    later = await services.events.send(room_id, _message(CREATOR, "after"))
    assert (await services.stores.events.get_event(later)).pdu["prev_events"] == [ban_id]


async def test_a_state_reset_from_an_old_branch_does_not_undo_later_changes(services):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await room_with_bob(services, remote)
    state_at_join = await room_state(services, room_id)
    name_id = await services.events.send(
        room_id, EventSpec("m.room.name", {"name": "Later name"}, CREATOR, state_key="")
    )
    rules_id = await services.events.send(
        room_id,
        EventSpec("m.room.join_rules", {"join_rule": "invite"}, CREATOR, state_key=""),
    )
    # Bob's server branches off his join: in its view the room is still public
    # and unnamed. Its state event (a new display name) is legitimate there.
    rename_id, rename = remote.member(
        version,
        room_id,
        BOB,
        {"membership": "join", "displayname": "Bob"},
        state=state_at_join,
        prev_events=[join_id],
        depth=remote.built[join_id]["depth"] + 1,
    )
    assert await pipeline.receive_pdus(remote.name, [rename]) == {rename_id: None}
    assert set(await extremities(services, room_id)) == {rules_id, rename_id}
    state = await room_state(services, room_id)
    assert state[("m.room.name", "")] == name_id
    assert state[("m.room.join_rules", "")] == rules_id
    assert state[("m.room.member", BOB)] == rename_id
    # The merged state is what the next local event sees and records.
    merge_id = await services.events.send(room_id, _message(CREATOR, "merge"))
    merged = await services.stores.events.get_event(merge_id)
    seen = await services.stores.state.get_state_ids(merged.state_group)
    assert seen[("m.room.join_rules", "")] == rules_id and seen[("m.room.member", BOB)] == rename_id
    # A reset attempt: an event citing only the create event, where Bob is nobody.
    create_id = state[("m.room.create", "")]
    reset_id, reset = remote.event(
        version,
        room_id,
        BOB,
        "m.room.join_rules",
        {"join_rule": "public"},
        state_key="",
        state={("m.room.create", ""): create_id},
        prev_events=[create_id],
        depth=2,
    )
    result = await pipeline.receive_pdus(remote.name, [reset])
    assert result[reset_id] is not None
    assert (await room_state(services, room_id))[("m.room.join_rules", "")] == rules_id


async def test_missing_prev_events_are_fetched_with_get_missing_events(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = next_depth(await extremities(services, room_id))
    one_id, _ = remote.message(
        version,
        room_id,
        BOB,
        "1",
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    two_id, two = remote.message(
        version,
        room_id,
        BOB,
        "2",
        state=state,
        prev_events=[one_id],
        depth=depth + 1,
    )
    peer.missing_answer = [one_id]
    assert await pipeline.receive_pdus(remote.name, [two]) == {two_id: None}
    assert ("POST", "get_missing_events") in peer.calls
    first = await services.stores.events.get_event(one_id)
    second = await services.stores.events.get_event(two_id)
    assert first is not None and second is not None
    assert first.stream_pos < second.stream_pos
    assert list(await extremities(services, room_id)) == [two_id]


async def test_prev_events_that_cannot_be_fetched_take_their_state_from_state_ids(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    local_id = await services.events.send(room_id, _message(CREATOR, "meanwhile"))
    depth = next_depth(await extremities(services, room_id))
    topic_state = dict(state)
    gap_id, _gap = remote.message(
        version,
        room_id,
        BOB,
        "lost",
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    last_id, last = remote.message(
        version,
        room_id,
        BOB,
        "seen",
        state=state,
        prev_events=[gap_id],
        depth=depth + 1,
    )
    peer.missing_answer = []  # the origin will not give the gap
    peer.state_answer[gap_id] = (list(topic_state.values()), [])
    assert await pipeline.receive_pdus(remote.name, [last]) == {last_id: None}
    assert ("GET", "state_ids") in peer.calls
    assert await outcomes(services, gap_id) == [OUTLIER]
    assert await services.stores.events.get_event(gap_id) is None
    assert set(await extremities(services, room_id)) == {local_id, last_id}
    assert (await room_state(services, room_id)) == state


async def test_an_event_whose_content_hash_fails_is_redacted_not_dropped(services):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await room_with_bob(services, remote)
    state = await room_state(services, room_id)
    msg_id, msg = remote.message(
        version,
        room_id,
        BOB,
        "original",
        state=state,
        prev_events=[join_id],
        depth=next_depth(await extremities(services, room_id)),
    )
    tampered = {**msg, "content": {"body": "tampered"}}
    assert await pipeline.receive_pdus(remote.name, [tampered]) == {msg_id: None}
    stored = await services.stores.events.get_event(msg_id)
    assert stored is not None and stored.pdu["content"] == {}


@pytest.mark.parametrize(
    "change",
    [
        {"depth": "7"},
        {"type": 5},
        {"prev_events": "not a list"},
        {"sender": "not-a-user"},
        {"content": {"body": "x" * 70_000}},
        {"signatures": {"remote.test": {"ed25519:r1": "AAAA"}}},
        {"signatures": {}},
    ],
)
async def test_a_malformed_or_badly_signed_pdu_is_refused_alone(services, change):
    remote = RemoteServer()
    room_id, version, join_id, pipeline = await room_with_bob(services, remote)
    state = await room_state(services, room_id)
    depth = next_depth(await extremities(services, room_id))
    _bad_id, bad = remote.message(
        version,
        room_id,
        BOB,
        "bad",
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    good_id, good = remote.message(
        version,
        room_id,
        BOB,
        "good",
        state=state,
        prev_events=[join_id],
        depth=depth,
    )
    result = await pipeline.receive_pdus(remote.name, [{**bad, **change}, "junk", good])
    assert result[good_id] is None
    assert all(error is not None for eid, error in result.items() if eid != good_id)
    assert await services.stores.events.get_event(good_id) is not None
    rows = await services.stores.db.fetchall("SELECT pdu FROM events WHERE room_id = ?", room_id)
    bodies = [orjson.loads(r[0])["content"].get("body") for r in rows]
    assert "bad" not in bodies and "tampered" not in bodies


async def test_a_pdu_for_a_room_this_server_is_not_in_is_refused(services):
    remote = RemoteServer()
    version = get_room_version("11")
    event_id, pdu = remote.message(
        version,
        "!elsewhere:remote.test",
        BOB,
        "?",
        state={},
        prev_events=[],
        depth=3,
    )
    pipeline = make_pipeline(services, remote)
    result = await pipeline.receive_pdus(remote.name, [pdu])
    assert result == {}
    assert await services.stores.events.get_event(event_id) is None


async def test_a_remote_redaction_applies_only_where_its_sender_may_redact(services):
    remote = RemoteServer()
    room_id, version, _join_id, pipeline = await room_with_bob(services, remote)
    theirs = await services.events.send(room_id, _message(CREATOR, "the creator's words"))
    state = await room_state(services, room_id)
    own_id, own = remote.message(
        version,
        room_id,
        BOB,
        "bob's words",
        state=state,
        prev_events=[theirs],
        depth=next_depth(await extremities(services, room_id)),
    )
    assert await pipeline.receive_pdus(remote.name, [own]) == {own_id: None}
    attempts = []
    for target in (theirs, own_id):
        redaction_id, redaction = remote.event(
            version,
            room_id,
            BOB,
            "m.room.redaction",
            {"redacts": target},
            state=state,
            prev_events=list(await extremities(services, room_id)),
            depth=next_depth(await extremities(services, room_id)),
        )
        attempts.append(redaction_id)
        assert await pipeline.receive_pdus(remote.name, [redaction]) == {redaction_id: None}
    creators = await services.stores.events.get_event(theirs)
    bobs = await services.stores.events.get_event(own_id)
    assert creators.redacted_by is None and creators.content == {
        "msgtype": "m.text",
        "body": "the creator's words",
    }
    assert bobs.redacted_by == attempts[1] and bobs.content == {}


async def test_an_event_citing_a_rejected_one_takes_the_state_before_it_from_here(services):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    pl_id = state[("m.room.power_levels", "")]
    pl = (await services.stores.events.get_event(pl_id)).pdu["content"]
    depth = next_depth(await extremities(services, room_id))
    forged_id, forged = remote.forged_power_levels(
        version, room_id, state=state, prev_events=[join_id], depth=depth, based_on=pl
    )
    assert (await pipeline.receive_pdus(remote.name, [forged]))[forged_id] is not None
    assert await outcomes(services, forged_id) == [REJECTED]
    # Bob's server carries on from its forged change: its next event cites it.
    next_id, nxt = remote.message(
        version,
        room_id,
        BOB,
        "after my change",
        state=state,
        prev_events=[forged_id],
        depth=depth + 1,
    )
    # Asked, the origin would answer a state of its own (no join rules).
    peer.missing_answer = [forged_id]
    rules = ("m.room.join_rules", "")
    peer.state_answer[forged_id] = ([e for k, e in state.items() if k != rules], [])
    peer.calls.clear()
    assert await pipeline.receive_pdus(remote.name, [nxt]) == {next_id: None}
    assert peer.calls == []  # the state before the rejected event is known here
    placed = await services.stores.events.get_event(next_id)
    assert dict(await services.stores.state.get_state_ids(placed.state_group)) == state
    assert (await room_state(services, room_id))[("m.room.power_levels", "")] == pl_id
    assert next_id in await extremities(services, room_id)


async def test_a_rejected_prev_event_whose_own_prev_events_are_unknown_asks_the_state_before_it(
    services,
):
    remote = RemoteServer()
    peer = FakePeer(remote)
    room_id, version, join_id, pipeline = await room_with_bob(services, remote, peer)
    state = await room_state(services, room_id)
    depth = next_depth(await extremities(services, room_id))
    hidden_id, _ = remote.message(
        version, room_id, BOB, "never given", state=state, prev_events=[join_id], depth=depth
    )
    forged_id, forged = remote.forged_power_levels(
        version, room_id, state=state, prev_events=[hidden_id], depth=depth + 1
    )
    assert (await pipeline.receive_pdus(remote.name, [forged]))[forged_id] is not None
    next_id, nxt = remote.message(
        version, room_id, BOB, "after", state=state, prev_events=[forged_id], depth=depth + 2
    )
    # The state before the forged event is not known here: its server is asked,
    # and the forged event itself (rejected) is no part of what it answers.
    peer.missing_answer = []
    peer.state_answer[forged_id] = ([*state.values(), forged_id], [])
    assert await pipeline.receive_pdus(remote.name, [nxt]) == {next_id: None}
    assert ("GET", "state_ids") in peer.calls
    placed = await services.stores.events.get_event(next_id)
    assert dict(await services.stores.state.get_state_ids(placed.state_group)) == state
