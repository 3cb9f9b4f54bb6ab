"""State resolution v2 (room versions 2 to 11) and v2.1 (12) on small hand-made DAGs.

Each DAG is built by sending events on branches of room state; the builder
selects auth events with the real selection algorithm and checks every event
against the auth rules as it is created, so the DAGs are ones a server could
actually see.
"""

from typing import Any

import pytest

from sceau.protocol.auth_rules import auth_types_for_event, check_event_auth
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from sceau.protocol.state_res import (
    auth_difference,
    conflicted_subgraph,
    is_power_event,
    mainline_order,
    resolve_state,
    separate_state,
)
from sceau.protocol.types import JsonDict, StateKey

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
# Every version resolved with v2 or v2.1 (v1 has its own tests in test_state_res_v1).
ALL = tuple(v for v in KNOWN_ROOM_VERSIONS.values() if v.state_resolution != "v1")

ALICE = "@alice:a.test"
BOB = "@bob:b.test"
CAROL = "@carol:c.test"
EVE = "@eve:e.test"

State = dict[StateKey, str]


class Dag:
    """Builds a room's events; each ``send`` returns the state after it."""

    def __init__(self, version: RoomVersion) -> None:
        self.version = version
        self.events: dict[str, JsonDict] = {}
        self.clock = 0
        content: JsonDict = {"room_version": version.identifier}
        if version.creator_in_create_content:
            content["creator"] = ALICE
        create: JsonDict = {
            "event_id": "$create",
            "type": "m.room.create",
            "state_key": "",
            "sender": ALICE,
            "content": content,
            "prev_events": [],
            "auth_events": [],
            "origin_server_ts": 0,
        }
        if version.room_id_from_create_event:
            self.room_id = "!create"
        else:
            self.room_id = "!room:a.test"
            create["room_id"] = self.room_id
        self.events["$create"] = create
        self.root: State = {("m.room.create", ""): "$create"}

    def send(
        self,
        state: State,
        event_id: str,
        event_type: str,
        sender: str,
        content: JsonDict,
        state_key: str | None = None,
        *,
        ts: int | None = None,
        prev: str = "$previous",
    ) -> State:
        self.clock += 1
        event: JsonDict = {
            "event_id": event_id,
            "room_id": self.room_id,
            "type": event_type,
            "sender": sender,
            "content": content,
            "prev_events": [prev],
            "origin_server_ts": self.clock if ts is None else ts,
            "signatures": {sender.split(":")[1]: {"ed25519:k": "s"}},
        }
        if state_key is not None:
            event["state_key"] = state_key
        keys = [k for k in auth_types_for_event(event, self.version) if k in state]
        event["auth_events"] = [state[k] for k in keys]
        auth_state = {k: self.events[state[k]] for k in keys}
        auth_state[("m.room.create", "")] = self.events["$create"]
        check_event_auth(event, auth_state, self.version)
        self.events[event_id] = event
        after = dict(state)
        if state_key is not None:
            after[(event_type, state_key)] = event_id
        return after

    def member(
        self,
        state: State,
        event_id: str,
        sender: str,
        membership: str,
        target: str | None = None,
        **kw: Any,
    ) -> State:
        return self.send(
            state,
            event_id,
            "m.room.member",
            sender,
            {"membership": membership},
            target or sender,
            **kw,
        )

    def power(
        self, state: State, event_id: str, sender: str, users: dict[str, int], **kw: Any
    ) -> State:
        if self.version.privileged_creators:
            users = {u: v for u, v in users.items() if u != ALICE}
        return self.send(state, event_id, "m.room.power_levels", sender, {"users": users}, "", **kw)

    def standard(self) -> State:
        """Alice creates a public room, makes Bob a moderator (50); Bob and Carol join."""
        state = self.member(self.root, "$alice_join", ALICE, "join", prev="$create")
        state = self.power(state, "$pl1", ALICE, {ALICE: 100, BOB: 50})
        state = self.send(
            state, "$join_rules", "m.room.join_rules", ALICE, {"join_rule": "public"}, ""
        )
        state = self.member(state, "$bob_join", BOB, "join")
        return self.member(state, "$carol_join", CAROL, "join")

    def resolve(self, *states: State, **kw: Any) -> State:
        return resolve_state(self.version, list(states), self.events, **kw)


VERSIONS = pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")


@VERSIONS
def test_single_state_set_and_identical_sets_resolve_to_themselves(version: RoomVersion) -> None:
    dag = Dag(version)
    state = dag.standard()
    assert dag.resolve(state) == state
    assert dag.resolve(state, dict(state)) == state
    assert resolve_state(version, [], dag.events) == {}


@VERSIONS
def test_demotion_beats_concurrent_ban_by_the_demoted_moderator(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    demoted = dag.power(base, "$pl2", ALICE, {ALICE: 100, BOB: 0})
    banned = dag.member(base, "$ban", BOB, "ban", CAROL)
    resolved = dag.resolve(demoted, banned)
    assert resolved[("m.room.power_levels", "")] == "$pl2"
    assert resolved[("m.room.member", CAROL)] == "$carol_join"


@VERSIONS
def test_ban_stands_when_other_branch_changes_only_the_topic(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    topic = dag.send(base, "$topic", "m.room.topic", ALICE, {"topic": "t"}, "")
    banned = dag.member(base, "$ban", BOB, "ban", CAROL)
    resolved = dag.resolve(topic, banned)
    assert resolved[("m.room.member", CAROL)] == "$ban"
    assert resolved[("m.room.topic", "")] == "$topic"


@VERSIONS
def test_topic_conflict_between_equal_mainline_is_won_by_later_timestamp(
    version: RoomVersion,
) -> None:
    dag = Dag(version)
    base = dag.standard()
    first = dag.send(base, "$t_alice", "m.room.topic", ALICE, {"topic": "a"}, "", ts=100)
    second = dag.send(base, "$t_bob", "m.room.topic", BOB, {"topic": "b"}, "", ts=200)
    assert dag.resolve(first, second)[("m.room.topic", "")] == "$t_bob"
    assert dag.resolve(second, first)[("m.room.topic", "")] == "$t_bob"


@VERSIONS
def test_topic_conflict_with_equal_timestamps_is_won_by_larger_event_id(
    version: RoomVersion,
) -> None:
    dag = Dag(version)
    base = dag.standard()
    one = dag.send(base, "$tz", "m.room.topic", ALICE, {"topic": "a"}, "", ts=100)
    two = dag.send(base, "$ta", "m.room.topic", BOB, {"topic": "b"}, "", ts=100)
    assert dag.resolve(one, two)[("m.room.topic", "")] == "$tz"


@VERSIONS
def test_topic_based_on_newer_power_levels_wins_over_later_timestamp(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    newer_pl = dag.power(base, "$pl2", ALICE, {ALICE: 100, BOB: 50, EVE: 10})
    bob_topic = dag.send(newer_pl, "$t_bob", "m.room.topic", BOB, {"topic": "b"}, "", ts=100)
    alice_topic = dag.send(base, "$t_alice", "m.room.topic", ALICE, {"topic": "a"}, "", ts=900)
    resolved = dag.resolve(bob_topic, alice_topic)
    assert resolved[("m.room.power_levels", "")] == "$pl2"
    assert resolved[("m.room.topic", "")] == "$t_bob"


@VERSIONS
def test_join_rules_change_beats_concurrent_public_join(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    closed = dag.send(base, "$invite_only", "m.room.join_rules", ALICE, {"join_rule": "invite"}, "")
    joined = dag.member(base, "$eve_join", EVE, "join")
    resolved = dag.resolve(closed, joined)
    assert resolved[("m.room.join_rules", "")] == "$invite_only"
    assert ("m.room.member", EVE) not in resolved


@VERSIONS
def test_concurrent_join_survives_unrelated_state(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    topic = dag.send(base, "$topic", "m.room.topic", ALICE, {"topic": "t"}, "")
    joined = dag.member(base, "$eve_join", EVE, "join")
    resolved = dag.resolve(topic, joined)
    assert resolved[("m.room.member", EVE)] == "$eve_join"
    assert resolved[("m.room.topic", "")] == "$topic"


@VERSIONS
def test_lower_powered_power_levels_change_is_applied_last(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    by_alice = dag.power(base, "$pl_alice", ALICE, {ALICE: 100, BOB: 50, CAROL: 10}, ts=500)
    users = dag.events["$pl1"]["content"]["users"]
    content = {"users": users, "events": {"m.room.topic": 50}}
    by_bob = dag.send(base, "$pl_bob", "m.room.power_levels", BOB, content, "", ts=2)
    # Bob sorts after Alice despite his earlier timestamp; Alice's change leaves
    # him at 50, so his change is authorised on top of hers and wins.
    assert dag.resolve(by_alice, by_bob)[("m.room.power_levels", "")] == "$pl_bob"


@VERSIONS
def test_power_levels_change_by_demoted_user_is_dropped(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    by_alice = dag.power(base, "$pl_alice", ALICE, {ALICE: 100, BOB: 0}, ts=1)
    users = dag.events["$pl1"]["content"]["users"]
    content = {"users": users, "events": {"m.room.topic": 50}}
    by_bob = dag.send(base, "$pl_bob", "m.room.power_levels", BOB, content, "", ts=900)
    assert dag.resolve(by_alice, by_bob)[("m.room.power_levels", "")] == "$pl_alice"


def test_v2_and_v2_1_differ_on_ban_before_unconflicted_demotion() -> None:
    """v2.1 starts from empty state: a ban authorised before Bob's demotion stands."""
    results = {}
    for version in (V11, V12):
        dag = Dag(version)
        base = dag.standard()
        banned = dag.member(base, "$ban", BOB, "ban", CAROL)
        # Both forks then see Alice demote Bob (the same event, so unconflicted).
        demote_from = dict(base)
        after_a = dag.power(demote_from, "$pl2", ALICE, {ALICE: 100, BOB: 0})
        after_b = dict(banned)
        after_b[("m.room.power_levels", "")] = "$pl2"
        results[version.identifier] = dag.resolve(after_a, after_b)
    assert results["11"][("m.room.member", CAROL)] == "$carol_join"
    assert results["12"][("m.room.member", CAROL)] == "$ban"


def test_v12_creator_power_orders_before_admin() -> None:
    dag = Dag(V12)
    base = dag.standard()
    admin = dag.power(base, "$pl_admin", ALICE, {BOB: 100})
    demote = dag.power(admin, "$pl_demote", ALICE, {BOB: 0}, ts=1000)
    ban = dag.member(admin, "$ban", BOB, "ban", CAROL, ts=5)
    resolved = dag.resolve(demote, ban)
    assert resolved[("m.room.power_levels", "")] == "$pl_demote"
    assert resolved[("m.room.member", CAROL)] == "$carol_join"


@VERSIONS
def test_rejected_events_are_not_used_as_auth_events(version: RoomVersion) -> None:
    dag = Dag(version)
    base = dag.standard()
    topic = dag.send(base, "$topic", "m.room.topic", ALICE, {"topic": "t"}, "")
    joined = dag.member(base, "$eve_join", EVE, "join")
    eve_topic_state = dag.send(
        dag.power(joined, "$pl_eve", ALICE, {ALICE: 100, BOB: 50, EVE: 50}),
        "$eve_topic",
        "m.room.topic",
        EVE,
        {"topic": "eve"},
        "",
        ts=10_000,
    )
    assert dag.resolve(topic, eve_topic_state)[("m.room.topic", "")] == "$eve_topic"
    # If Eve's join had been rejected on receipt, her topic cannot be authorised.
    resolved = dag.resolve(topic, eve_topic_state, rejected_event_ids={"$eve_join"})
    assert resolved[("m.room.topic", "")] == "$topic"


# --- the definitions on their own -------------------------------------------------


def test_separate_state_treats_missing_keys_as_conflicts() -> None:
    a = {("t", ""): "$1", ("x", ""): "$x"}
    b = {("t", ""): "$1", ("x", ""): "$y", ("z", ""): "$z"}
    unconflicted, conflicted = separate_state([a, b])
    assert unconflicted == {("t", ""): "$1"}
    assert conflicted == {("x", ""): {"$x", "$y"}, ("z", ""): {"$z"}}


def _graph(edges: dict[str, list[str]]) -> dict[str, JsonDict]:
    return {eid: {"event_id": eid, "auth_events": parents} for eid, parents in edges.items()}


def test_auth_difference_counts_events_not_in_every_chain() -> None:
    events = _graph({"c": [], "a": ["c"], "b": ["c"], "a2": ["a"]})
    diff = auth_difference([{("k", ""): "a2"}, {("k", ""): "b"}], events)
    assert diff == {"a2", "a", "b"}


def test_conflicted_subgraph_holds_paths_between_conflicted_events() -> None:
    # x -> m -> y is a path between conflicted x and y; z hangs off the side.
    events = _graph({"root": [], "y": ["root"], "z": ["root"], "m": ["y", "z"], "x": ["m"]})
    assert conflicted_subgraph({"x", "y"}, events) == {"x", "m", "y"}
    assert conflicted_subgraph({"x"}, events) == {"x"}


def test_mainline_order_puts_events_on_older_power_levels_first() -> None:
    events: dict[str, JsonDict] = {
        "$pl0": {"type": "m.room.power_levels", "state_key": "", "auth_events": []},
        "$pl1": {"type": "m.room.power_levels", "state_key": "", "auth_events": ["$pl0"]},
        "$old": {"type": "m.room.topic", "auth_events": ["$pl0"], "origin_server_ts": 50},
        "$new": {"type": "m.room.topic", "auth_events": ["$pl1"], "origin_server_ts": 1},
        "$none": {"type": "m.room.topic", "auth_events": [], "origin_server_ts": 99},
        "$new2": {"type": "m.room.topic", "auth_events": ["$pl1"], "origin_server_ts": 1},
    }
    assert mainline_order(["$new2", "$new", "$old", "$none"], "$pl1", events) == [
        "$none",
        "$old",
        "$new",
        "$new2",
    ]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"type": "m.room.power_levels", "state_key": ""}, True),
        ({"type": "m.room.join_rules", "state_key": ""}, True),
        (
            {
                "type": "m.room.member",
                "state_key": CAROL,
                "sender": BOB,
                "content": {"membership": "ban"},
            },
            True,
        ),
        (
            {
                "type": "m.room.member",
                "state_key": CAROL,
                "sender": BOB,
                "content": {"membership": "leave"},
            },
            True,
        ),
        (
            {
                "type": "m.room.member",
                "state_key": CAROL,
                "sender": CAROL,
                "content": {"membership": "leave"},
            },
            False,
        ),
        (
            {
                "type": "m.room.member",
                "state_key": CAROL,
                "sender": BOB,
                "content": {"membership": "invite"},
            },
            False,
        ),
        ({"type": "m.room.topic", "state_key": ""}, False),
        ({"type": "m.room.power_levels"}, False),
    ],
)
def test_power_event_definition(event: JsonDict, expected: bool) -> None:
    assert is_power_event(event) is expected


def test_ordering_edges_look_through_events_outside_the_set() -> None:
    from sceau.protocol.state_res import _nearest_ancestors_within

    events = _graph({"root": [], "c": ["root"], "b": ["c"], "a": ["b", "root"], "d": ["root"]})
    edges = _nearest_ancestors_within({"a", "c", "d"}, events)
    assert edges == {"a": frozenset({"c"}), "c": frozenset(), "d": frozenset()}
