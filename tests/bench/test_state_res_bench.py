"""The state-resolution measurement runs at a tiny scale and its answer is right.

No timing is asserted (the benchmark reports it): the check is that the
measurement completes and that resolution kept the later power levels and
the later event of every member, in the room versions that use v2 and v2.1.
"""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a folder of the checkout, not an installed package
    sys.path.insert(0, str(REPO))

from bench.state_res import build_conflict, measure  # noqa: E402


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_a_small_conflicted_state_resolves_to_the_later_events(version: str) -> None:
    result = measure(200, version)
    assert result["conflicted_events"] == 200
    assert result["resolved_keys"] == 100 + 5  # members, creator, moderator, create, rules, power


def test_the_two_views_conflict_on_every_member() -> None:
    (side_a, side_b), events = build_conflict(50, "11")
    members = [k for k in side_a if k[0] == "m.room.member" and k[1].startswith("@u")]
    assert len(members) == 50
    assert all(side_a[k] != side_b[k] for k in members)
    assert all(eid in events for eid in [*side_a.values(), *side_b.values()])
