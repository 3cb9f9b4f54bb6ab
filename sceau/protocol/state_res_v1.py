"""State resolution v1, the algorithm of room version 1.

The spec's description ("Room Version 1", State resolution) is followed in
the form every server runs it, so that a v1 room resolves to the same state
here as elsewhere:

* a key is conflicted only when the state sets hold *different* events for
  it; a key missing from some sets is not a conflict;
* conflicted events are checked against the auth events their types need,
  taken from the unconflicted state, then from what has been resolved;
* power levels, then join rules, then memberships are resolved by walking
  the candidates from the lowest ``depth`` (ties: the greatest
  ``sha1(event_id)``), keeping each that the auth rules allow on top of the
  one before and stopping at the first that fails; every join rules (and
  every membership) key is resolved against the same state;
* any other key takes the first event that passes auth, ordered by highest
  ``depth`` then lowest ``sha1(event_id)``, or the last candidate if none does.

Known flaw of v1 (the reason v2 exists): it can reset a room to older state.
"""

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from sceau.protocol.auth_rules import (
    JOIN_RULES_KEY,
    POWER_LEVELS_KEY,
    AuthError,
    ThirdPartyVerifier,
    auth_types_for_event,
    check_event_auth,
)
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.third_party_invites import verify_third_party_invite as verify_tpi_signature
from sceau.protocol.types import JsonDict, StateKey

EventMap = Mapping[str, JsonDict]


def separate_state_v1(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, set[str]]]:
    """Split into unconflicted and conflicted keys; absence is not a conflict."""
    unconflicted: dict[StateKey, str] = {}
    conflicted: dict[StateKey, set[str]] = {}
    for state in state_sets:
        for key, event_id in state.items():
            if key in conflicted:
                conflicted[key].add(event_id)
            elif key not in unconflicted:
                unconflicted[key] = event_id
            elif unconflicted[key] != event_id:
                conflicted[key] = {unconflicted.pop(key), event_id}
    return unconflicted, conflicted


def _depth(event: JsonDict) -> int:
    depth = event.get("depth")
    return depth if isinstance(depth, int) and not isinstance(depth, bool) else 0


def _sha1(event_id: str) -> str:
    return hashlib.sha1(event_id.encode("utf-8"), usedforsecurity=False).hexdigest()


def newest_first(event_ids: Iterable[str], event_map: EventMap) -> list[str]:
    """Highest ``depth`` first, ties broken by the lowest ``sha1(event_id)``."""
    return sorted(event_ids, key=lambda eid: (-_depth(event_map[eid]), _sha1(eid)))


class _ResolverV1:
    def __init__(
        self,
        room_version: RoomVersion,
        event_map: EventMap,
        verify_tpi: ThirdPartyVerifier | None,
    ) -> None:
        self.version = room_version
        self.events = event_map
        self.verify_tpi = verify_tpi

    def passes(self, event_id: str, auth_state: Mapping[StateKey, JsonDict]) -> bool:
        try:
            check_event_auth(
                self.events[event_id],
                auth_state,
                self.version,
                verify_third_party_invite=self.verify_tpi,
            )
        except AuthError:
            return False
        return True

    def resolve_auth_key(
        self, candidates: list[str], auth_state: Mapping[StateKey, JsonDict]
    ) -> str:
        """Walk from the oldest candidate, keeping each one allowed on top of the last."""
        ordered = list(reversed(newest_first(candidates, self.events)))
        wanted = {
            key for eid in ordered for key in auth_types_for_event(self.events[eid], self.version)
        }
        state = {key: event for key, event in auth_state.items() if key in wanted}
        kept = ordered[0]
        for event_id in ordered[1:]:
            previous = self.events[kept]
            state[(str(previous.get("type")), str(previous.get("state_key")))] = previous
            if not self.passes(event_id, state):
                return kept
            kept = event_id
        return kept

    def resolve_other_key(
        self, candidates: list[str], auth_state: Mapping[StateKey, JsonDict]
    ) -> str:
        """The newest candidate that passes auth, else the oldest."""
        ordered = newest_first(candidates, self.events)
        for event_id in ordered:
            if self.passes(event_id, auth_state):
                return event_id
        return ordered[-1]


def resolve_state_v1(
    room_version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    event_map: EventMap,
    *,
    rejected_event_ids: Collection[str] = frozenset(),
    verify_third_party_invite: ThirdPartyVerifier | None = verify_tpi_signature,
) -> dict[StateKey, str]:
    """Resolve several room states into one with the room version 1 algorithm.

    ``event_map`` must hold every conflicted event and the unconflicted
    events their auth types name; a conflicted event it lacks is left out,
    as is one in ``rejected_event_ids``, and a key left with one candidate
    takes it.
    """
    if not state_sets:
        return {}
    unconflicted, conflicted_ids = separate_state_v1(state_sets)
    resolved = dict(unconflicted)
    conflicted: dict[StateKey, list[str]] = {}
    for key, ids in conflicted_ids.items():
        known = sorted(eid for eid in ids if eid in event_map and eid not in rejected_event_ids)
        if len(known) == 1:
            resolved[key] = known[0]
        elif known:
            conflicted[key] = known
    if not conflicted:
        return resolved

    auth_state: dict[StateKey, JsonDict] = {}
    for candidates in conflicted.values():
        for event_id in candidates:
            for key in auth_types_for_event(event_map[event_id], room_version):
                found = unconflicted.get(key)
                if key in auth_state or found is None or found in rejected_event_ids:
                    continue
                if found in event_map:
                    auth_state[key] = event_map[found]

    resolver = _ResolverV1(room_version, event_map, verify_third_party_invite)
    phases: tuple[Callable[[StateKey], bool], ...] = (
        lambda key: key == POWER_LEVELS_KEY,
        lambda key: key[0] == JOIN_RULES_KEY[0],
        lambda key: key[0] == "m.room.member",
    )
    done: dict[StateKey, str] = {}
    for in_phase in phases:
        phase = {
            key: resolver.resolve_auth_key(ids, auth_state)
            for key, ids in conflicted.items()
            if in_phase(key) and key not in done
        }
        done.update(phase)
        auth_state.update({key: event_map[eid] for key, eid in phase.items()})
    for key, candidates in conflicted.items():
        if key not in done:
            done[key] = resolver.resolve_other_key(candidates, auth_state)
    resolved.update(done)
    return resolved
