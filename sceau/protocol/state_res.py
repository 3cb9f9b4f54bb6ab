"""State resolution v2 (room versions 2-11) and v2.1 (room version 12).

Room version 1 uses the v1 algorithm of :mod:`sceau.protocol.state_res_v1`,
reached through the same :func:`resolve_state` entry point.

``resolve_state`` is a pure function over state maps of event IDs and an
``event_map`` that holds every event involved (the state sets' events and
their full auth chains). v2.1 (MSC4297) differs in two places: the first
round of iterative auth checks starts from an empty state instead of the
unconflicted state, and the full conflicted set also holds the *conflicted
state subgraph* (every event on an auth path between two conflicted events).

Auth chains here include the starting events themselves, as other servers
compute the auth difference; this only changes which unconflicted events
are replayed, never the final answer for unconflicted keys.
"""

import heapq
from collections.abc import Collection, Iterable, Mapping, Sequence

from sceau.protocol.auth_rules import (
    CREATE_KEY,
    POWER_LEVELS_KEY,
    AuthError,
    ThirdPartyVerifier,
    auth_types_for_event,
    check_event_auth,
    create_event_id_for_room,
)
from sceau.protocol.event_format import auth_event_ids
from sceau.protocol.power_levels import PowerLevel, user_power_level
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.state_res_v1 import resolve_state_v1
from sceau.protocol.third_party_invites import verify_third_party_invite as verify_tpi_signature
from sceau.protocol.types import JsonDict, StateKey

EventMap = Mapping[str, JsonDict]


def resolve_state(
    room_version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    event_map: EventMap,
    *,
    rejected_event_ids: Collection[str] = frozenset(),
    verify_third_party_invite: ThirdPartyVerifier | None = verify_tpi_signature,
) -> dict[StateKey, str]:
    """Resolve several room states into one, per the room version's algorithm.

    Room version 1 goes to :func:`sceau.protocol.state_res_v1.resolve_state_v1`.

    ``rejected_event_ids`` names events rejected on receipt: they are never
    used as auth events during the iterative auth checks.
    """
    if room_version.state_resolution == "v1":
        return resolve_state_v1(
            room_version,
            state_sets,
            event_map,
            rejected_event_ids=rejected_event_ids,
            verify_third_party_invite=verify_third_party_invite,
        )
    if not state_sets:
        return {}
    unconflicted, conflicted = separate_state(state_sets)
    if not conflicted:
        return unconflicted
    resolver = _Resolver(room_version, event_map, rejected_event_ids, verify_third_party_invite)
    conflicted_ids = {eid for ids in conflicted.values() for eid in ids}
    full = conflicted_ids | auth_difference(state_sets, event_map)
    if room_version.state_resolution == "v2.1":
        full |= conflicted_subgraph(conflicted_ids, event_map)
    full = {eid for eid in full if eid in event_map}

    power = {eid for eid in full if is_power_event(event_map[eid])}
    power |= auth_chain(power, event_map) & full
    ordered_power = resolver.reverse_topological_power_order(power)
    start = {} if room_version.state_resolution == "v2.1" else dict(unconflicted)
    resolved = resolver.iterative_auth_checks(ordered_power, start)

    others = full - power
    ordered_others = mainline_order(others, resolved.get(POWER_LEVELS_KEY), event_map)
    resolved = resolver.iterative_auth_checks(ordered_others, resolved)
    resolved.update(unconflicted)
    return resolved


# --- definitions -------------------------------------------------------------------


def separate_state(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, set[str]]]:
    """Split into the unconflicted state map and the conflicted values per key.

    A key missing from any state set is conflicted.
    """
    unconflicted: dict[StateKey, str] = {}
    conflicted: dict[StateKey, set[str]] = {}
    keys = {key for state in state_sets for key in state}
    for key in keys:
        values = [state.get(key) for state in state_sets]
        present = {v for v in values if v is not None}
        if None not in values and len(present) == 1:
            unconflicted[key] = present.pop()
        else:
            conflicted[key] = present
    return unconflicted, conflicted


def auth_chain(start: Iterable[str], event_map: EventMap) -> set[str]:
    """The starting events plus everything reachable through ``auth_events``."""
    seen: set[str] = set()
    stack = list(start)
    while stack:
        eid = stack.pop()
        if eid in seen or eid not in event_map:
            continue
        seen.add(eid)
        stack.extend(auth_event_ids(event_map[eid]))
    return seen


def auth_difference(state_sets: Sequence[Mapping[StateKey, str]], event_map: EventMap) -> set[str]:
    """Events in some but not all of the state sets' full auth chains."""
    chains = [auth_chain(state.values(), event_map) for state in state_sets]
    union: set[str] = set().union(*chains)
    common: set[str] = chains[0].intersection(*chains[1:])
    return union - common


def conflicted_subgraph(conflicted_ids: set[str], event_map: EventMap) -> set[str]:
    """v2.1: events on some auth path from one conflicted event to another."""
    reachable = auth_chain(conflicted_ids, event_map)
    citing: dict[str, list[str]] = {eid: [] for eid in reachable}
    for eid in reachable:
        for parent in auth_event_ids(event_map[eid]):
            if parent in citing:
                citing[parent].append(eid)
    leads_to_conflict: set[str] = set()
    stack = [eid for eid in conflicted_ids if eid in citing]
    while stack:
        eid = stack.pop()
        if eid in leads_to_conflict:
            continue
        leads_to_conflict.add(eid)
        stack.extend(citing[eid])
    return reachable & leads_to_conflict


def is_power_event(event: JsonDict) -> bool:
    """Power levels, join rules, and kicks or bans (leave/ban of someone else)."""
    if "state_key" not in event:
        return False
    event_type = event.get("type")
    if event_type in ("m.room.power_levels", "m.room.join_rules"):
        return event.get("state_key") == ""
    if event_type == "m.room.member":
        membership = (event.get("content") or {}).get("membership")
        return membership in ("leave", "ban") and event.get("sender") != event.get("state_key")
    return False


def _power_levels_in_auth(event: JsonDict, event_map: EventMap) -> str | None:
    for aid in auth_event_ids(event):
        auth = event_map.get(aid)
        if auth is not None and (auth.get("type"), auth.get("state_key")) == POWER_LEVELS_KEY:
            return aid
    return None


def _ts(event: JsonDict) -> int:
    ts = event.get("origin_server_ts")
    return ts if isinstance(ts, int) else 0


def mainline_order(
    event_ids: Iterable[str], power_levels_id: str | None, event_map: EventMap
) -> list[str]:
    """Sort by mainline position (earliest power levels first), then ts, then ID."""
    mainline: dict[str, int] = {}
    current = power_levels_id
    while current is not None and current in event_map and current not in mainline:
        mainline[current] = len(mainline)
        current = _power_levels_in_auth(event_map[current], event_map)

    def position(eid: str) -> float:
        seen: set[str] = set()
        step = _power_levels_in_auth(event_map[eid], event_map)
        while step is not None and step not in seen:
            if step in mainline:
                return mainline[step]
            seen.add(step)
            step = _power_levels_in_auth(event_map[step], event_map) if step in event_map else None
        return float("inf")

    keyed = [(-position(eid), _ts(event_map[eid]), eid) for eid in event_ids]
    return [eid for _, _, eid in sorted(keyed)]


def _nearest_ancestors_within(subset: set[str], event_map: EventMap) -> dict[str, frozenset[str]]:
    """For each event of ``subset``, the closest members of ``subset`` among its
    auth ancestors, looking through events outside it.

    Ordering by these edges respects the whole auth DAG restricted to ``subset``
    (what the spec's topological ordering asks for) while visiting each
    ancestor once, instead of walking a full auth chain per event.
    """
    below: dict[str, frozenset[str]] = {}
    stack: list[tuple[str, bool]] = [(eid, False) for eid in subset]
    while stack:
        eid, expanded = stack.pop()
        if eid in below:
            continue
        parents = [p for p in auth_event_ids(event_map[eid]) if p in event_map]
        if not expanded:
            stack.append((eid, True))
            stack.extend((p, False) for p in parents if p not in below and p not in subset)
            continue
        found: set[str] = set()
        for parent in parents:
            if parent in subset:
                found.add(parent)
            else:
                found |= below.get(parent, frozenset())
        below[eid] = frozenset(found)
    return {eid: below[eid] for eid in subset}


# --- the parts that need the room version ---------------------------------------------


class _Resolver:
    """Holds the inputs shared by the sorting and iterative auth check steps."""

    def __init__(
        self,
        room_version: RoomVersion,
        event_map: EventMap,
        rejected: Collection[str],
        verify_third_party_invite: ThirdPartyVerifier | None,
    ) -> None:
        self.version = room_version
        self.events = event_map
        self.rejected = rejected
        self.verify_tpi = verify_third_party_invite

    def _usable(self, eid: str) -> JsonDict | None:
        event = self.events.get(eid)
        return None if event is None or eid in self.rejected else event

    def _implied_create(self, event: JsonDict) -> JsonDict | None:
        """v12+: the create event every event implies through its room ID."""
        room_id = event.get("room_id")
        if not self.version.room_id_from_create_event or not isinstance(room_id, str):
            return None
        return self._usable(create_event_id_for_room(room_id))

    def _auth_events_state(self, event: JsonDict) -> dict[StateKey, JsonDict]:
        state: dict[StateKey, JsonDict] = {}
        create = self._implied_create(event)
        if create is not None:
            state[CREATE_KEY] = create
        for aid in auth_event_ids(event):
            auth = self._usable(aid)
            if auth is not None and isinstance(auth.get("state_key"), str):
                state[(str(auth.get("type")), auth["state_key"])] = auth
        return state

    def sender_power(self, eid: str) -> PowerLevel:
        """The sender's level according to the event's own auth events."""
        event = self.events[eid]
        state = self._auth_events_state(event)
        create = state.get(CREATE_KEY, {})
        pl_event = state.get(POWER_LEVELS_KEY)
        content = pl_event.get("content") if pl_event is not None else None
        pl = content if isinstance(content, dict) else None
        return user_power_level(str(event.get("sender", "")), pl, create, self.version)

    def reverse_topological_power_order(self, event_ids: set[str]) -> list[str]:
        """Kahn's algorithm over the auth DAG restricted to ``event_ids``,
        always taking the highest-powered, then oldest, then smallest ID."""
        depends_on = _nearest_ancestors_within(event_ids, self.events)
        dependants: dict[str, list[str]] = {eid: [] for eid in event_ids}
        for eid, parents in depends_on.items():
            for parent in parents:
                dependants[parent].append(eid)
        waiting = {eid: len(parents) for eid, parents in depends_on.items()}
        heap = [self._power_key(eid) for eid, count in waiting.items() if count == 0]
        heapq.heapify(heap)
        ordered: list[str] = []
        while heap:
            _, _, eid = heapq.heappop(heap)
            ordered.append(eid)
            for child in dependants[eid]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(heap, self._power_key(child))
        return ordered

    def _power_key(self, eid: str) -> tuple[PowerLevel, int, str]:
        return (-self.sender_power(eid), _ts(self.events[eid]), eid)

    def iterative_auth_checks(
        self, event_ids: Iterable[str], state: Mapping[StateKey, str]
    ) -> dict[StateKey, str]:
        """Apply each event that passes auth against the state built so far."""
        resolved = dict(state)
        for eid in event_ids:
            event = self.events[eid]
            auth_state = self._auth_events_state(event)
            for key in auth_types_for_event(event, self.version):
                current = resolved.get(key)
                found = self._usable(current) if current is not None else None
                if found is not None:
                    auth_state[key] = found
            try:
                check_event_auth(
                    event, auth_state, self.version, verify_third_party_invite=self.verify_tpi
                )
            except AuthError:
                continue
            state_key = event.get("state_key")
            if isinstance(state_key, str):
                resolved[(str(event.get("type")), state_key)] = eid
        return resolved
