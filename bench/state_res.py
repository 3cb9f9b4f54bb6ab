"""``python -m bench.state_res``: how long resolving a large conflicted state takes.

Two servers' views of one room disagree on every member: in one, each of N
members has joined; in the other, each has since changed their display
name, and a power-level change and a string of kicks happened meanwhile.
Resolving the two views makes every member's key conflicted, so the
conflicted set holds ``2 N`` events plus the power events. The issue's
target is that 10,000 conflicted events resolve in bounded time; this
prints the time (and checks the answer's invariants) for v2 and v2.1.

    .venv/bin/python -m bench.state_res --conflicted 10000
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from sceau.protocol.room_versions import get_room_version
from sceau.protocol.state_res import resolve_state

CREATOR = "@creator:bench.local"


def _event(
    event_id: str,
    event_type: str,
    state_key: str,
    sender: str,
    content: dict[str, Any],
    auth: list[str],
    ts: int,
    room_id: str,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": event_type,
        "state_key": state_key,
        "sender": sender,
        "content": content,
        "auth_events": auth,
        "prev_events": [],
        "depth": ts,
        "origin_server_ts": ts,
        "room_id": room_id,
    }


def build_conflict(members: int, version_id: str) -> tuple[list[dict], dict[str, dict]]:
    """Two state maps disagreeing on every member, and every event involved."""
    version = get_room_version(version_id)
    assert version is not None
    v12 = version.room_id_from_create_event
    room_id = "!bench:bench.local" if not v12 else "!create"
    events: dict[str, dict[str, Any]] = {}
    create_content: dict[str, Any] = {"room_version": version_id}
    if version.creator_in_create_content:
        create_content["creator"] = CREATOR

    def add(event: dict[str, Any]) -> str:
        events[event["event_id"]] = event
        return str(event["event_id"])

    create = add(_event("$create", "m.room.create", "", CREATOR, create_content, [], 1, room_id))
    base_auth = [] if v12 else [create]
    if v12:
        events[create].pop("room_id")
    join = add(
        _event(
            "$cj", "m.room.member", CREATOR, CREATOR, {"membership": "join"}, base_auth, 2, room_id
        )
    )
    # v12 creators hold unlimited power and may not be listed in users.
    creators = {} if v12 else {CREATOR: 100}
    pl_content = {"users": creators, "users_default": 0, "kick": 50, "state_default": 50}
    pl = add(
        _event(
            "$pl", "m.room.power_levels", "", CREATOR, pl_content, [*base_auth, join], 3, room_id
        )
    )
    rules = add(
        _event(
            "$jr",
            "m.room.join_rules",
            "",
            CREATOR,
            {"join_rule": "public"},
            [*base_auth, join, pl],
            4,
            room_id,
        )
    )
    base = {
        ("m.room.create", ""): create,
        ("m.room.member", CREATOR): join,
        ("m.room.power_levels", ""): pl,
        ("m.room.join_rules", ""): rules,
    }
    side_a = dict(base)
    side_b = dict(base)
    ts = 10
    # B: a moderator promoted, who then kicks a few members.
    moderator = "@mod:bench.local"
    mod_join = add(
        _event(
            "$modj",
            "m.room.member",
            moderator,
            moderator,
            {"membership": "join"},
            [*base_auth, pl, rules],
            5,
            room_id,
        )
    )
    side_a[("m.room.member", moderator)] = mod_join
    pl2_content = {**pl_content, "users": {**creators, moderator: 50}}
    pl2 = add(
        _event(
            "$pl2",
            "m.room.power_levels",
            "",
            CREATOR,
            pl2_content,
            [*base_auth, join, pl],
            6,
            room_id,
        )
    )
    side_b[("m.room.power_levels", "")] = pl2
    side_b[("m.room.member", moderator)] = mod_join
    for n in range(members):
        user = f"@u{n}:remote{n % 17}.bench"
        ts += 1
        joined = add(
            _event(
                f"$j{n}",
                "m.room.member",
                user,
                user,
                {"membership": "join"},
                [*base_auth, pl, rules],
                ts,
                room_id,
            )
        )
        side_a[("m.room.member", user)] = joined
        if n % 500 == 0:
            kicked = add(
                _event(
                    f"$k{n}",
                    "m.room.member",
                    user,
                    moderator,
                    {"membership": "leave"},
                    [*base_auth, pl2, mod_join, joined],
                    ts + members,
                    room_id,
                )
            )
            side_b[("m.room.member", user)] = kicked
        else:
            renamed = add(
                _event(
                    f"$r{n}",
                    "m.room.member",
                    user,
                    user,
                    {"membership": "join", "displayname": f"User {n}"},
                    [*base_auth, pl, rules, joined],
                    ts + members,
                    room_id,
                )
            )
            side_b[("m.room.member", user)] = renamed
    return [side_a, side_b], events


def measure(conflicted: int, version_id: str) -> dict[str, Any]:
    members = max(1, conflicted // 2)
    sets, events = build_conflict(members, version_id)
    version = get_room_version(version_id)
    assert version is not None
    start = time.perf_counter()
    resolved = resolve_state(version, sets, events)
    seconds = time.perf_counter() - start
    kicked = sum(1 for eid in resolved.values() if eid.startswith("$k"))
    renamed = sum(1 for eid in resolved.values() if eid.startswith("$r"))
    if resolved.get(("m.room.power_levels", "")) != "$pl2":
        raise RuntimeError("the later power levels lost")
    if kicked + renamed != members:
        raise RuntimeError(f"{kicked + renamed} of {members} members resolved to the later event")
    return {
        "room_version": version_id,
        "conflicted_events": 2 * members,
        "seconds": round(seconds, 3),
        "resolved_keys": len(resolved),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conflicted", type=int, default=10_000)
    parser.add_argument("--versions", default="11,12")
    args = parser.parse_args()
    results = [measure(args.conflicted, v) for v in args.versions.split(",")]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
