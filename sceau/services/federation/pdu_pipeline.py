"""The receive pipeline for PDUs from other servers (a ``PduReceiver``).

``PUT /send/{txnId}`` hands each transaction's PDUs here. Each PDU is
checked alone, in the order the spec gives, and one bad PDU never stops the
others of its transaction:

1. format and size (the room is one this server is in, fields have their
   types, the event is at most 65,536 bytes);
2. the sender's server signature (keys from the key fetcher) and the
   content hash: an event whose hash is wrong is redacted and goes on;
3. authorization against its own ``auth_events``;
4. missing ``prev_events`` are fetched with ``get_missing_events``, or else
   the state before them is fetched with ``state_ids``;
5. the room's queue (:meth:`EventService.receive`): authorization against
   the state before it, soft-fail against the current state, and the DAG.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.errors import MatrixError
from sceau.protocol.auth_rules import AuthError, check_auth_events_selection, check_event_auth
from sceau.protocol.event_format import auth_event_ids, prev_event_ids, sort_by_auth
from sceau.protocol.hashing import check_content_hash
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.types import JsonDict
from sceau.services.event_graph import ReceivedEvent
from sceau.services.events import EventService, PduRefused
from sceau.services.federation.missing_events import MissingEventsFetcher
from sceau.services.federation.pdu_checks import (
    PduFormatError,
    VerifyKeyLookup,
    check_format,
    check_signatures,
    event_id_of,
    room_id_of,
)
from sceau.services.state_history import DEEP_HISTORY
from sceau.storage.events import EventStore
from sceau.storage.received_pdus import OUTLIER, REJECTED, SOFT_FAILED, ReceivedPduStore
from sceau.storage.rooms import RoomStore

log = logging.getLogger(__name__)

#: How the pipeline hands each event to the room (EventService.receive).
Placer = Callable[[str, ReceivedEvent], Awaitable[str]]


class PduPipeline:
    """Implements ``PduReceiver.receive_pdus``: checks, fetches, then the room's queue."""

    def __init__(
        self,
        *,
        events: EventService,
        event_store: EventStore,
        rooms: RoomStore,
        received: ReceivedPduStore,
        verify_keys: VerifyKeyLookup,
        missing: MissingEventsFetcher | None = None,
    ) -> None:
        self._events = events
        self._event_store = event_store
        self._rooms = rooms
        self._received = received
        self._verify_keys = verify_keys
        self._missing = missing

    async def receive_pdus(self, origin: str, pdus: list[dict[str, Any]]) -> dict[str, str | None]:
        """PUT /_matrix/federation/v1/send/{txnId}: each PDU's error, or None if accepted.

        The keys are event IDs where one could be computed (the spec's
        ``pdus`` result); a PDU too malformed to have one is logged only.
        """
        results: dict[str, str | None] = {}
        checked: list[tuple[RoomVersion, str, JsonDict]] = []
        for raw in pdus:
            try:
                checked.append(await self.check(raw))
            except PduFormatError as exc:
                event_id, error = _refused(origin, raw, exc)
                if event_id is not None:
                    results[event_id] = error
        for version, event_id, pdu in _cited_first(checked):
            results[event_id] = await self._receive_checked(
                origin, version, event_id, pdu, fetch_missing=True
            )
        return results

    async def _receive_one(
        self, origin: str, raw: object, *, fetch_missing: bool
    ) -> tuple[str | None, str | None]:
        try:
            version, event_id, pdu = await self.check(raw)
        except PduFormatError as exc:
            return _refused(origin, raw, exc)
        error = await self._receive_checked(
            origin, version, event_id, pdu, fetch_missing=fetch_missing
        )
        return event_id, error

    async def _receive_checked(
        self,
        origin: str,
        version: RoomVersion,
        event_id: str,
        pdu: JsonDict,
        *,
        fetch_missing: bool,
    ) -> str | None:
        """Steps 3 to 5 for a PDU that passed ``check``: its error, or None if accepted."""
        room_id = room_id_of(pdu, event_id, version)
        outcome = (await self._received.outcomes([event_id])).get(event_id)
        if outcome == REJECTED:
            return "event was rejected before"
        if outcome == SOFT_FAILED:
            # Already in the DAG, kept from clients: not evaluated again (as Synapse).
            return "event was soft-failed before"
        try:
            await self.auth_with_own_auth_events(origin, version, event_id, pdu)
        except AuthError as exc:
            await self._record(room_id, origin, event_id, pdu, REJECTED, str(exc))
            return f"not allowed by its auth events: {exc}"
        fetched_states: list[dict[tuple[str, str], str]] = []
        if fetch_missing and self._missing is not None:
            missing = await self._missing_prevs(pdu)
            if missing:
                fetched_states = await self._fill_gap(origin, room_id, version, event_id, pdu)
        try:
            await self._events.receive(
                room_id, ReceivedEvent(event_id, pdu, origin, tuple(fetched_states))
            )
        except (PduRefused, MatrixError) as exc:
            if isinstance(exc, MatrixError) and exc.status == 503:
                # The room's writer (another process) cannot be reached: nothing
                # was placed; the origin retries the whole transaction later.
                raise
            return str(exc)
        return None

    async def check(self, raw: object) -> tuple[RoomVersion, str, JsonDict]:
        """Steps 1 and 2: format, size, signatures, content hash (redacting if wrong)."""
        if not isinstance(raw, dict):
            raise PduFormatError("PDU is not a JSON object")
        version = await self._version_for(raw)
        pdu = check_format(raw, version)
        event_id = event_id_of(pdu, version)
        await check_signatures(pdu, event_id, version, self._verify_keys)
        if not check_content_hash(pdu, version):
            log.info("PDU %s has a wrong content hash: redacted", event_id)
            pdu = redact_event(pdu, version)
        return version, event_id, pdu

    async def _version_for(self, raw: dict[str, Any]) -> RoomVersion:
        room_id = raw.get("room_id")
        if not isinstance(room_id, str):
            raise PduFormatError("PDU has no room_id")
        room = await self._rooms.get_room(room_id)
        if room is None or room.head_state_group is None:  # unknown, or only invited
            raise PduFormatError(f"this server is not in room {room_id}")
        version = get_room_version(room.room_version)
        if version is None:
            raise PduFormatError(f"unsupported room version {room.room_version}")
        return version

    async def auth_with_own_auth_events(
        self,
        origin: str,
        version: RoomVersion,
        event_id: str,
        pdu: JsonDict,
        *,
        fetch_missing: bool = True,
    ) -> None:
        """Step 3: the event is allowed by the auth events it cites (fetched if unknown)."""
        auth_ids = auth_event_ids(pdu, version)
        known = await self._events.graph.load_pdus(auth_ids)
        if len(known) < len(auth_ids) and fetch_missing and self._missing is not None:
            room_id = room_id_of(pdu, event_id, version)
            await self._missing.fetch_auth_chain(origin, room_id, event_id, version, self)
            known = await self._events.graph.load_pdus(auth_ids)
        if len(known) < len(auth_ids):
            raise AuthError("some of its auth events are unknown")
        outcomes = await self._received.outcomes(auth_ids)
        if any(outcomes.get(a) == REJECTED for a in auth_ids):
            raise AuthError("it cites a rejected auth event")
        auth_events = [known[a] for a in auth_ids]
        check_auth_events_selection(pdu, auth_events, version)
        auth_state = {
            (str(e["type"]), str(e["state_key"])): e for e in auth_events if "state_key" in e
        }
        if version.room_id_from_create_event and pdu.get("type") != "m.room.create":
            create_id = "$" + str(pdu.get("room_id", ""))[1:]
            create = (await self._events.graph.load_pdus([create_id])).get(create_id)
            if create is None:
                raise AuthError("the room's create event is unknown")
            auth_state[("m.room.create", "")] = create
        check_event_auth(pdu, auth_state, version)

    async def store_outliers(self, origin: str, room_id: str, raws: list[object]) -> set[str]:
        """Keep fetched events (a state, an auth chain) apart from the timeline.

        Each passes the same checks as a PDU of a transaction, then the auth
        rules against its own auth events, taken in auth order so a chain
        that holds together is accepted whole. One that fails is recorded as
        rejected alone (and so are those citing it, for that reason); the
        others are kept. Returns the IDs now usable (kept or already known,
        not rejected); nothing more is fetched for them.
        """
        checked: dict[str, tuple[RoomVersion, JsonDict]] = {}
        for raw in raws:
            try:
                version, event_id, pdu = await self.check(raw)
            except PduFormatError as exc:
                log.info("fetched event from %s refused: %s", origin, exc)
                continue
            if room_id_of(pdu, event_id, version) != room_id:
                log.info("fetched event %s from %s is of another room", event_id, origin)
                continue
            checked.setdefault(event_id, (version, pdu))
        known = await self.loaded(list(checked))
        fresh = {eid: pdu for eid, (_v, pdu) in checked.items() if eid not in known}
        for event_id in sort_by_auth(fresh):
            version, pdu = checked[event_id]
            try:
                await self.auth_with_own_auth_events(
                    origin, version, event_id, pdu, fetch_missing=False
                )
            except AuthError as exc:
                log.info("fetched event %s from %s rejected: %s", event_id, origin, exc)
                await self._record(room_id, origin, event_id, pdu, REJECTED, str(exc))
                continue
            await self._record(room_id, origin, event_id, pdu, OUTLIER, None)
        return set(await self.usable(list(checked)))

    async def loaded(self, event_ids: list[str]) -> dict[str, JsonDict]:
        """Events known here, on the timeline or kept apart."""
        return await self._events.graph.load_pdus(event_ids)

    async def usable(self, event_ids: list[str]) -> dict[str, JsonDict]:
        """Events known here that were not rejected (what a state may be made of)."""
        found = await self.loaded(event_ids)
        outcomes = await self._received.outcomes(found)
        return {eid: pdu for eid, pdu in found.items() if outcomes.get(eid) != REJECTED}

    async def _missing_prevs(self, pdu: JsonDict) -> list[str]:
        """The prev_events not in the DAG here (soft-failed and rejected events are in it).

        State history (the join's state, fetched state events) is held
        without the state at it, so it counts as missing. A rejected event
        whose own prev_events are missing counts as missing too: the state
        before it, which it stands for, is not known here.
        """
        missing = await self._not_held(prev_event_ids(pdu))
        if not missing:
            return missing
        outcomes = await self._received.outcomes(missing)
        still: list[str] = []
        for prev in missing:
            outcome = outcomes.get(prev)
            if outcome == REJECTED:
                if await self._rejected_gap(prev):
                    still.append(prev)
            elif outcome != SOFT_FAILED:
                still.append(prev)
        return still

    async def _not_held(self, event_ids: list[str]) -> list[str]:
        """The events not on the timeline here (state history included)."""
        found = await self._event_store.get_events(event_ids)
        return [e for e in event_ids if e not in found or found[e].stream_pos <= DEEP_HISTORY]

    async def _rejected_gap(self, event_id: str) -> bool:
        """Whether a rejected event cites prev_events that are not in the DAG here."""
        kept = await self._received.get_pdus([event_id], (REJECTED,))
        if event_id not in kept:
            return True
        prevs = await self._not_held(prev_event_ids(kept[event_id][1]))
        outcomes = await self._received.outcomes(prevs)
        return any(outcomes.get(p) not in (SOFT_FAILED, REJECTED) for p in prevs)

    async def _fill_gap(
        self, origin: str, room_id: str, version: RoomVersion, event_id: str, pdu: JsonDict
    ) -> list[dict[tuple[str, str], str]]:
        """Fetch the missing prev_events (get_missing_events), else the state at them.

        Returns the state after each prev_event that stays missing, from
        ``state_ids`` (none if every prev_event is now known).
        """
        assert self._missing is not None
        fetched = await self._missing.get_missing_events(origin, room_id, event_id, pdu)
        for raw in fetched:
            await self._receive_one(origin, raw, fetch_missing=False)
        still = await self._missing_prevs(pdu)
        states: list[dict[tuple[str, str], str]] = []
        for prev in still:
            state = await self._missing.state_after(origin, room_id, prev, version, self)
            if state is not None:
                states.append(state)
        return states

    async def _record(
        self,
        room_id: str,
        origin: str,
        event_id: str,
        pdu: JsonDict,
        outcome: str,
        reason: str | None,
    ) -> None:
        await self._events.record_outcome(room_id, origin, event_id, pdu, outcome, reason)


def _refused(origin: str, raw: object, exc: PduFormatError) -> tuple[str | None, str]:
    """A PDU refused by ``check``: its event ID where one is known, and why."""
    log.info("PDU from %s refused: %s", origin, exc)
    claimed = raw.get("event_id") if isinstance(raw, dict) else None
    return exc.event_id or (claimed if isinstance(claimed, str) else None), str(exc)


def _cited_first(
    checked: list[tuple[RoomVersion, str, JsonDict]],
) -> list[tuple[RoomVersion, str, JsonDict]]:
    """The transaction's PDUs in its order, except that each comes after those it cites.

    A PDU citing another of the same transaction (soft-failed or not) then
    finds it in the DAG instead of asking the origin for it.
    """
    by_id = {item[1]: item for item in checked}
    ordered: list[tuple[RoomVersion, str, JsonDict]] = []
    placed: set[str] = set()

    def visit(item: tuple[RoomVersion, str, JsonDict], path: set[str]) -> None:
        version, event_id, pdu = item
        if event_id in placed or event_id in path:
            return
        path.add(event_id)
        for prev in prev_event_ids(pdu, version):
            if prev in by_id:
                visit(by_id[prev], path)
        placed.add(event_id)
        ordered.append(item)

    for item in checked:
        visit(item, set())
    return ordered
