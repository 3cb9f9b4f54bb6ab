"""State resolution v1 (room version 1) on small hand-made DAGs.

The DAGs come from ``test_state_res.Dag`` (events checked against the auth
rules as they are built); v1 orders by ``depth`` and ``sha1(event_id)``, so
each test sets the depths it relies on.
"""

import hashlib

from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS
from sceau.protocol.state_res import resolve_state
from sceau.protocol.state_res_v1 import newest_first, resolve_state_v1, separate_state_v1
from tests.protocol.test_state_res import ALICE, BOB, CAROL, Dag, State

V1 = KNOWN_ROOM_VERSIONS["1"]
PL = ("m.room.power_levels", "")
TOPIC = ("m.room.topic", "")


def sha1(event_id: str) -> str:
    return hashlib.sha1(event_id.encode()).hexdigest()


def standard() -> tuple[Dag, State]:
    dag = Dag(V1)
    state = dag.standard()
    for depth, event_id in enumerate(
        ["$create", "$alice_join", "$pl1", "$join_rules", "$bob_join", "$carol_join"], start=1
    ):
        dag.events[event_id]["depth"] = depth
    return dag, state


def at_depth(dag: Dag, state: State, key: tuple[str, str], depth: int) -> State:
    dag.events[state[key]]["depth"] = depth
    return state


def test_identical_and_single_sets_resolve_to_themselves() -> None:
    dag, state = standard()
    assert resolve_state_v1(V1, [state], dag.events) == state
    assert resolve_state_v1(V1, [state, dict(state)], dag.events) == state
    assert resolve_state_v1(V1, [], dag.events) == {}


def test_a_key_missing_from_one_set_is_not_a_conflict() -> None:
    one = {("a", ""): "$1", ("b", ""): "$2"}
    two = {("a", ""): "$1"}
    three = {("a", ""): "$3", ("b", ""): "$2"}
    assert separate_state_v1([one, two]) == ({("a", ""): "$1", ("b", ""): "$2"}, {})
    assert separate_state_v1([one, two, three]) == ({("b", ""): "$2"}, {("a", ""): {"$1", "$3"}})


def test_resolve_state_sends_room_version_1_to_the_v1_algorithm() -> None:
    dag, base = standard()
    topic = at_depth(
        dag, dag.send(base, "$t_old", "m.room.topic", ALICE, {"topic": "a"}, ""), TOPIC, 7
    )
    # v1 takes the event with the highest depth, v2 the later timestamp.
    late = dag.send(base, "$t_new", "m.room.topic", ALICE, {"topic": "b"}, "", ts=10_000)
    at_depth(dag, late, TOPIC, 6)
    assert resolve_state(V1, [topic, late], dag.events)[TOPIC] == "$t_old"
    assert resolve_state(KNOWN_ROOM_VERSIONS["2"], [topic, late], dag.events)[TOPIC] == "$t_new"


def test_power_levels_walk_from_lowest_depth_and_stop_at_first_failure() -> None:
    dag, base = standard()
    demoted = at_depth(dag, dag.power(base, "$pl_demote", ALICE, {ALICE: 100, BOB: 0}), PL, 7)
    by_bob = at_depth(dag, dag.power(base, "$pl_bob", BOB, {ALICE: 100, BOB: 50, CAROL: 10}), PL, 8)
    # $pl1 (depth 3), then $pl_demote on top: allowed; then $pl_bob: Bob is now 0, refused.
    resolved = resolve_state_v1(V1, [base, demoted, by_bob], dag.events)
    assert resolved[PL] == "$pl_demote"


def test_power_levels_all_allowed_ends_on_the_deepest() -> None:
    dag, base = standard()
    first = at_depth(dag, dag.power(base, "$pl_a", ALICE, {ALICE: 100, BOB: 40}), PL, 7)
    second = at_depth(dag, dag.power(base, "$pl_b", ALICE, {ALICE: 100, BOB: 30}), PL, 9)
    assert resolve_state_v1(V1, [first, second], dag.events)[PL] == "$pl_b"
    assert resolve_state_v1(V1, [second, first], dag.events)[PL] == "$pl_b"


def test_equal_depth_power_levels_walk_from_the_greatest_sha1() -> None:
    dag, base = standard()
    one = at_depth(dag, dag.power(base, "$pl_x", ALICE, {ALICE: 100, BOB: 40}), PL, 7)
    two = at_depth(dag, dag.power(base, "$pl_y", ALICE, {ALICE: 100, BOB: 30}), PL, 7)
    walked_last = min(["$pl_x", "$pl_y"], key=sha1)
    assert resolve_state_v1(V1, [one, two], dag.events)[PL] == walked_last


def test_demotion_beats_a_deeper_ban_by_the_demoted_moderator() -> None:
    dag, base = standard()
    demoted = at_depth(dag, dag.power(base, "$pl2", ALICE, {ALICE: 100, BOB: 0}), PL, 7)
    banned = dag.member(base, "$ban", BOB, "ban", CAROL)
    at_depth(dag, banned, ("m.room.member", CAROL), 8)
    resolved = resolve_state_v1(V1, [demoted, banned], dag.events)
    assert resolved[PL] == "$pl2"
    assert resolved[("m.room.member", CAROL)] == "$carol_join"


def test_other_events_take_the_deepest_that_passes_auth_against_the_resolved_state() -> None:
    dag, base = standard()
    base = at_depth(dag, dag.send(base, "$t0", "m.room.topic", ALICE, {"topic": "0"}, ""), TOPIC, 7)
    demoted = at_depth(dag, dag.power(base, "$pl2", ALICE, {ALICE: 100, BOB: 0}), PL, 8)
    by_bob = at_depth(
        dag, dag.send(base, "$t_bob", "m.room.topic", BOB, {"topic": "b"}, ""), TOPIC, 9
    )
    resolved = resolve_state_v1(V1, [demoted, by_bob], dag.events)
    assert resolved[PL] == "$pl2"
    # Bob's deeper topic fails against the demotion; Alice's older one is kept.
    assert resolved[TOPIC] == "$t0"


def test_v1_keeps_a_key_only_one_branch_has_even_if_its_sender_lost_power() -> None:
    """The state-reset flaw v2 fixed: absence is not a conflict, so no auth check."""
    dag, base = standard()
    demoted = at_depth(dag, dag.power(base, "$pl2", ALICE, {ALICE: 100, BOB: 0}), PL, 7)
    by_bob = at_depth(
        dag, dag.send(base, "$t_bob", "m.room.topic", BOB, {"topic": "b"}, ""), TOPIC, 8
    )
    resolved = resolve_state_v1(V1, [demoted, by_bob], dag.events)
    assert resolved[PL] == "$pl2"
    assert resolved[TOPIC] == "$t_bob"


def test_when_no_candidate_passes_the_shallowest_is_kept() -> None:
    dag, base = standard()
    demoted = at_depth(dag, dag.power(base, "$pl2", ALICE, {ALICE: 100, BOB: 0}), PL, 7)
    one = at_depth(dag, dag.send(base, "$t1", "m.room.topic", BOB, {"topic": "1"}, ""), TOPIC, 9)
    two = at_depth(dag, dag.send(base, "$t2", "m.room.topic", BOB, {"topic": "2"}, ""), TOPIC, 8)
    resolved = resolve_state_v1(V1, [{**one, PL: "$pl2"}, {**two, PL: "$pl2"}, demoted], dag.events)
    assert resolved[TOPIC] == "$t2"


def test_missing_or_rejected_candidates_drop_out() -> None:
    dag, base = standard()
    one = at_depth(dag, dag.send(base, "$t1", "m.room.topic", ALICE, {"topic": "1"}, ""), TOPIC, 9)
    two = at_depth(dag, dag.send(base, "$t2", "m.room.topic", ALICE, {"topic": "2"}, ""), TOPIC, 8)
    three = {**base, TOPIC: "$unknown"}
    assert resolve_state_v1(V1, [one, two, three], dag.events)[TOPIC] == "$t1"
    resolved = resolve_state_v1(V1, [one, two], dag.events, rejected_event_ids={"$t1"})
    assert resolved[TOPIC] == "$t2"


def test_newest_first_orders_by_depth_then_sha1() -> None:
    events = {"$a": {"depth": 1}, "$b": {"depth": 2}, "$c": {"depth": 2}}
    ordered = newest_first(events, events)
    assert ordered[-1] == "$a"
    assert ordered[:2] == sorted(["$b", "$c"], key=sha1)


def test_v1_events_with_paired_references_resolve_the_same() -> None:
    dag, base = standard()
    demoted = at_depth(dag, dag.power(base, "$pl2", ALICE, {ALICE: 100, BOB: 0}), PL, 7)
    banned = dag.member(base, "$ban", BOB, "ban", CAROL)
    at_depth(dag, banned, ("m.room.member", CAROL), 8)
    for event in dag.events.values():
        event["auth_events"] = [[eid, {}] for eid in event["auth_events"]]
        event["prev_events"] = [[eid, {}] for eid in event["prev_events"]]
    resolved = resolve_state_v1(V1, [demoted, banned], dag.events)
    assert resolved[("m.room.member", CAROL)] == "$carol_join"
