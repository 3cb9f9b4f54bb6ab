"""The room DAG under a received event: the state before it, its checks, the merge.

:class:`EventGraph` is the part of the event path that events from other
servers need and local sends do not: a received PDU may cite several
``prev_events``, or old ones, so the state before it is the resolution of
the states after each of them (``protocol/state_res.py``), and accepting it
may leave the room with several forward extremities, whose states are
resolved again into the current state. It runs under the room's lock,
inside :class:`~sceau.services.events.EventService`'s batches, so received
and local events share one ordering and one group commit.
"""

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from sceau.protocol.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_event_auth,
    redaction_allowed,
)
from sceau.protocol.event_format import auth_event_ids, prev_event_ids, sort_by_prev
from sceau.protocol.events import redaction_target
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.state_res import resolve_state
from sceau.protocol.types import JsonDict, StateKey
from sceau.services.event_types import BuiltEvent, CurrentUpdate, EventSpec, RoomDraft, StateDelta
from sceau.services.state_history import DEEP_HISTORY
from sceau.storage.events import EventStore
from sceau.storage.received_pdus import OUTLIER, REJECTED, SOFT_FAILED, ReceivedPduStore
from sceau.storage.state import StateStore

CREATE_KEY: StateKey = ("m.room.create", "")
POWER_KEY: StateKey = ("m.room.power_levels", "")

StateMap = dict[StateKey, str]


@dataclass(frozen=True)
class ReceivedEvent:
    """A PDU from another server that passed the checks needing no room state."""

    event_id: str
    pdu: JsonDict
    origin: str
    #: The states after the prev_events that could not be fetched, as
    #: another server told them (``state_ids``).
    fetched_states: tuple[StateMap, ...] = ()


@dataclass(frozen=True)
class Refusal:
    """A received event kept apart from the timeline: rejected or soft-failed."""

    outcome: str
    reason: str


class EventGraph:
    PDU_CACHE_SIZE = 20_000
    #: States after soft-failed and rejected events (immutable: they depend on the DAG only).
    SOFT_FAILED_CACHE_SIZE = 1_000
    #: How far back a chain of soft-failed or rejected events is walked to place a later event.
    SOFT_FAILED_WALK = 200

    def __init__(
        self, *, events: EventStore, state: StateStore, received: ReceivedPduStore
    ) -> None:
        self._events = events
        self._state = state
        self._received = received
        #: PDUs by ID as the auth and resolution steps need them (immutable for them).
        self._pdus: OrderedDict[str, JsonDict] = OrderedDict()
        self._soft_after: OrderedDict[str, StateMap] = OrderedDict()

    # ------------------------------------------------------------------ reading

    def remember(self, event_id: str, pdu: JsonDict) -> None:
        """A state event just built: resolution may need it before it is committed."""
        self._pdus[event_id] = pdu
        if len(self._pdus) > self.PDU_CACHE_SIZE:
            self._pdus.popitem(last=False)

    async def load_pdus(self, event_ids: Iterable[str]) -> dict[str, JsonDict]:
        """PDUs known here, accepted or kept apart (outliers, soft-failed, rejected)."""
        wanted = list(dict.fromkeys(event_ids))
        found = {eid: self._pdus[eid] for eid in wanted if eid in self._pdus}
        missing = [eid for eid in wanted if eid not in found]
        if missing:
            for eid, stored in (await self._events.get_events(missing)).items():
                found[eid] = stored.pdu
            rest = [eid for eid in missing if eid not in found]
            if rest:
                kept = await self._received.get_pdus(rest, (OUTLIER, SOFT_FAILED, REJECTED))
                found.update({eid: pdu for eid, (_room, pdu) in kept.items()})
            for eid in missing:
                if eid in found:
                    self._pdus[eid] = found[eid]
            while len(self._pdus) > self.PDU_CACHE_SIZE:
                self._pdus.popitem(last=False)
        return found

    async def with_auth_chains(self, event_ids: Iterable[str]) -> dict[str, JsonDict]:
        """The events and everything reachable through their auth_events, as known here."""
        have: dict[str, JsonDict] = {}
        frontier = set(event_ids)
        while frontier:
            found = await self.load_pdus(frontier)
            have.update(found)
            frontier = {
                aid for pdu in found.values() for aid in auth_event_ids(pdu) if aid not in have
            } - set(found)
        return have

    async def state_after(self, draft: RoomDraft, event_id: str) -> StateMap | None:
        """The room state after an event of the DAG here, else None.

        Accepted and soft-failed events count; so do rejected ones, which
        are no part of any state: the state after one is the state before it.
        """
        known = draft.after_states.get(event_id)
        if known is not None:
            return known
        placed = await self._placed_state_after(draft, event_id)
        if placed is not None:
            return placed
        return await self._kept_state_after(draft, event_id)

    async def _placed_state_after(self, draft: RoomDraft, event_id: str) -> StateMap | None:
        known = draft.after_states.get(event_id)
        if known is not None:
            return known
        stored = await self._events.get_event(event_id)
        if stored is None or stored.room_id != draft.room_id or stored.stream_pos <= DEEP_HISTORY:
            return None  # state history has no state of its own here
        group = stored.stream_pos if stored.state_key is not None else stored.state_group
        return dict(await self._state.get_state_ids(group))

    async def _kept_state_after(self, draft: RoomDraft, event_id: str) -> StateMap | None:
        """The state after a soft-failed or rejected event, from its prev_events like any other.

        A soft-failed event is part of the DAG (the spec's "otherwise handled
        as usual"): it is only kept from clients and from this server's
        extremities. A rejected event is not part of the room's state (nor
        is it for Synapse): the state after it is the state before it. When
        a later event cites one, that state is resolved over its own
        prev_events (kept ones first, walked back at most
        ``SOFT_FAILED_WALK`` events), so another server's branch is placed
        here without asking anyone.
        """
        if event_id in self._soft_after:
            return self._soft_after[event_id]
        chain: dict[str, JsonDict] = {}
        frontier = [event_id]
        while frontier and len(chain) < self.SOFT_FAILED_WALK:
            kept = await self._received.get_pdus(frontier, (SOFT_FAILED, REJECTED))
            found = {
                eid: pdu
                for eid, (room_id, pdu) in kept.items()
                if room_id == draft.room_id and eid not in chain
            }
            chain.update(found)
            frontier = [
                prev
                for pdu in found.values()
                for prev in prev_event_ids(pdu, draft.version)
                if prev not in chain and prev not in self._soft_after
            ]
        if event_id not in chain:
            return None
        outcomes = await self._received.outcomes(chain)
        computed: dict[str, StateMap] = {}
        for eid in sort_by_prev(chain):
            pdu = chain[eid]
            prevs = prev_event_ids(pdu, draft.version)
            sets = []
            for prev in prevs:
                state = computed.get(prev) or self._soft_after.get(prev)
                if state is None and prev not in chain:
                    state = await self._placed_state_after(draft, prev)
                if state is not None:
                    sets.append(state)
            if not sets:
                continue
            after = await self.resolve(draft.version, sets)
            state_key = pdu.get("state_key")
            if isinstance(state_key, str) and outcomes.get(eid) != REJECTED:
                after = {**after, (str(pdu["type"]), state_key): eid}
            computed[eid] = after
            if len(sets) == len(prevs):  # a state missing a branch is not kept
                self._soft_after[eid] = after
                if len(self._soft_after) > self.SOFT_FAILED_CACHE_SIZE:
                    self._soft_after.popitem(last=False)
        return computed.get(event_id)

    async def resolve(self, version: RoomVersion, state_sets: list[StateMap]) -> StateMap:
        """One state out of several, by the room version's resolution algorithm."""
        first = state_sets[0]
        if all(other == first for other in state_sets[1:]):
            return first
        ids = {eid for state in state_sets for eid in state.values()}
        event_map = await self.with_auth_chains(ids)
        rejected = await self._received.outcomes(event_map)
        return resolve_state(
            version,
            state_sets,
            event_map,
            rejected_event_ids={eid for eid, o in rejected.items() if o == REJECTED},
        )

    async def auth_against(self, version: RoomVersion, pdu: JsonDict, state: StateMap) -> None:
        """Check the event against a room state; raises AuthError."""
        keys = set(auth_types_for_event(pdu, version))
        keys.add(CREATE_KEY)
        wanted = {key: state[key] for key in keys if key in state}
        found = await self.load_pdus(wanted.values())
        auth_state = {key: found[eid] for key, eid in wanted.items() if eid in found}
        check_event_auth(pdu, auth_state, version)

    # ---------------------------------------------------------------- accepting

    async def accept(
        self, draft: RoomDraft, received: ReceivedEvent, *, held_as_history: bool = False
    ) -> BuiltEvent | Refusal:
        """Place a received event in the room's DAG, or say why it is kept apart.

        On acceptance the draft moves on (extremities, current state) and the
        returned event carries the state groups and current-state changes
        the writer must record. An event ``held_as_history`` (part of a state
        here, never placed) is already behind the events whose state cites
        it: placing it changes neither the extremities nor the current state.
        """
        version = draft.version
        pdu = received.pdu
        prevs = prev_event_ids(pdu, version)
        state_sets = [s for s in [await self.state_after(draft, p) for p in prevs] if s is not None]
        state_sets.extend(received.fetched_states)
        if not state_sets:
            return Refusal(REJECTED, "no state is known before this event")
        before = await self.resolve(version, state_sets)
        try:
            await self.auth_against(version, pdu, before)
        except AuthError as exc:
            return Refusal(REJECTED, f"not allowed by the state before it: {exc}")
        current = draft.state
        if before != current:
            try:
                await self.auth_against(version, pdu, current)
            except AuthError as exc:
                return Refusal(SOFT_FAILED, f"not allowed by the current state: {exc}")
        if held_as_history:
            return self._place_history(draft, received, before)
        return await self._place(draft, received, before)

    async def _place(
        self, draft: RoomDraft, received: ReceivedEvent, before: StateMap
    ) -> BuiltEvent:
        pdu = received.pdu
        event_id = received.event_id
        old_current = draft.state
        state_key = pdu.get("state_key")
        key = (str(pdu["type"]), state_key) if isinstance(state_key, str) else None
        after = before if key is None else {**before, key: event_id}
        prevs = prev_event_ids(pdu, draft.version)
        depth = pdu.get("depth")
        draft.advance(event_id, prevs, depth if isinstance(depth, int) else draft.depth + 1, after)
        if key is not None:
            draft.pdus[event_id] = pdu
            self.remember(event_id, pdu)
        if len(draft.extremities) == 1:
            new_current = after
        else:
            sets = [await self.state_after(draft, eid) for eid in draft.extremities]
            new_current = await self.resolve(draft.version, [s for s in sets if s is not None])
        draft.state = new_current
        group: str | StateDelta
        if new_current is after or new_current == after:
            group = "after"
        elif new_current == old_current:
            group = "keep"
        else:
            group = StateDelta.between(old_current, new_current)
        changes = await self._current_changes(old_current, new_current, draft.pdus)
        redacts = redaction_target(pdu, draft.version)
        if redacts is not None and not await self._redaction_applies(draft, pdu, redacts, before):
            redacts = None  # kept as an event, but the target stays whole
        spec = _spec_of(pdu, redacts)
        new_state_before = _state_before_delta(old_current, before)
        foreign = {c[0] for c in changes.values() if c is not None}
        if new_state_before is not None:
            foreign.update(
                eid for k, eid in new_state_before.entries.items() if old_current.get(k) != eid
            )
        foreign.discard(event_id)
        return BuiltEvent(
            event_id,
            pdu,
            spec,
            before,
            before.get(key) if key is not None else None,
            new_state_before=new_state_before,
            current=CurrentUpdate(changes, group),
            foreign_state=tuple(sorted(foreign)),
        )

    def _place_history(
        self, draft: RoomDraft, received: ReceivedEvent, before: StateMap
    ) -> BuiltEvent:
        """A state-history event put on the timeline: its own state, the room's unchanged."""
        pdu = received.pdu
        event_id = received.event_id
        state_key = pdu.get("state_key")
        key = (str(pdu["type"]), state_key) if isinstance(state_key, str) else None
        after = before if key is None else {**before, key: event_id}
        draft.after_states[event_id] = after
        if key is not None:
            draft.pdus[event_id] = pdu
            self.remember(event_id, pdu)
        spec = _spec_of(pdu, None)
        new_state_before = _state_before_delta(draft.state, before)
        foreign = set() if new_state_before is None else set(new_state_before.entries.values())
        foreign.discard(event_id)
        return BuiltEvent(
            event_id,
            pdu,
            spec,
            before,
            before.get(key) if key is not None else None,
            new_state_before=new_state_before,
            current=CurrentUpdate({}, "keep"),
            foreign_state=tuple(sorted(foreign)),
            replaces_history=True,
        )

    async def _redaction_applies(
        self, draft: RoomDraft, pdu: JsonDict, target_id: str, state: StateMap
    ) -> bool:
        """A received redaction takes effect only if its sender may redact the target."""
        wanted = [target_id, *(state[k] for k in (CREATE_KEY, POWER_KEY) if k in state)]
        found = await self.load_pdus(wanted)
        target = found.get(target_id)
        if target is None:
            return False
        create = found.get(state.get(CREATE_KEY, ""), {})
        power = found.get(state.get(POWER_KEY, ""))
        content = power.get("content") if power is not None else None
        return redaction_allowed(
            {**pdu, "event_id": pdu.get("event_id", "")},
            target,
            content if isinstance(content, dict) else None,
            create,
            draft.version,
        )

    async def _current_changes(
        self, old: StateMap, new: StateMap, fresh: dict[str, JsonDict]
    ) -> dict[StateKey, tuple[str, str | None] | None]:
        changed = {key: eid for key, eid in new.items() if old.get(key) != eid}
        members = [eid for key, eid in changed.items() if key[0] == "m.room.member"]
        pdus = {eid: fresh[eid] for eid in members if eid in fresh}
        if len(pdus) < len(members):
            pdus.update(await self.load_pdus(eid for eid in members if eid not in pdus))
        changes: dict[StateKey, tuple[str, str | None] | None] = {}
        for key, eid in changed.items():
            membership = None
            if key[0] == "m.room.member":
                content = pdus.get(eid, {}).get("content")
                value = content.get("membership") if isinstance(content, dict) else None
                membership = value if isinstance(value, str) else None
            changes[key] = (eid, membership)
        for key in old:
            if key not in new:
                changes[key] = None
        return changes


def _spec_of(pdu: JsonDict, redacts: str | None) -> EventSpec:
    """What a received PDU says it is, in the form local sends are described."""
    content = pdu.get("content")
    state_key = pdu.get("state_key")
    return EventSpec(
        event_type=str(pdu["type"]),
        content=content if isinstance(content, dict) else {},
        sender=str(pdu["sender"]),
        state_key=state_key if isinstance(state_key, str) else None,
        redacts=redacts,
    )


def _state_before_delta(current: StateMap, before: StateMap) -> StateDelta | None:
    """The state before an event as a change from current state; None when it is current state."""
    return None if before == current else StateDelta.between(current, before)
