"""Backfill: history from before this server joined, fetched when a client pages back.

A room joined through another server starts here at the join; the events
before it are another server's. When ``/messages`` runs out of held events
going backwards, :class:`Backfiller` asks a server in the room
(``GET /backfill``) for the events before the oldest gap and writes them
below every held position, so the client's next page simply continues into
them.

Each event is checked like a PDU of a transaction (format, signatures,
content hash, auth against its own auth events) and against the state
*before it*: the resolution of the states after its ``prev_events``, taken
from the events of the batch placed before it, from events held here, or
else asked of the server (``state_ids``) as for a gap in a transaction.
That state is what the event is stored with, so history visibility and
``/context`` see the room as it was then, not as it is now. An event that
fails is rejected alone; nothing is soft-failed (history is not news).
"""

import logging
from typing import Any

import orjson

from sceau.protocol.auth_rules import AuthError, server_name_of
from sceau.protocol.event_format import prev_event_ids, sort_by_prev
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict
from sceau.services.event_graph import StateMap
from sceau.services.events import EventService
from sceau.services.federation.client import FederationRequestError, encode_path
from sceau.services.federation.missing_events import FederationRequester, MissingEventsFetcher
from sceau.services.federation.pdu_checks import PduFormatError
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.services.remote_rooms import Backfilled, RemoteRoomWriter
from sceau.services.state_history import DEEP_HISTORY
from sceau.storage.database import Database
from sceau.storage.events import EventStore
from sceau.storage.received_pdus import REJECTED
from sceau.storage.state import StateStore

log = logging.getLogger(__name__)

#: How many of the room's oldest events are searched for gaps.
SCAN = 200
MAX_BACKFILL = 100


class Backfiller:
    def __init__(
        self,
        *,
        server_name: str,
        db: Database,
        client: FederationRequester,
        pipeline: PduPipeline,
        remote_rooms: RemoteRoomWriter,
        state: StateStore,
        events: EventService,
        event_store: EventStore,
        missing: MissingEventsFetcher,
    ) -> None:
        self._me = server_name
        self._db = db
        self._client = client
        self._pipeline = pipeline
        self._remote_rooms = remote_rooms
        self._state = state
        self._events = events
        self._event_store = event_store
        self._missing = missing

    async def gaps(self, room_id: str) -> tuple[list[str], int | None]:
        """Events cited by the room's oldest placed events but not placed, and their state group.

        State history (events held for the room's state only) is not placed:
        it is neither scanned nor counted as held, so backfill places it.
        """
        rows = await self._db.fetchall(
            "SELECT event_id, pdu, state_group FROM events WHERE room_id = ? AND stream_pos > ?"
            " ORDER BY stream_pos ASC LIMIT ?",
            room_id,
            DEEP_HISTORY,
            SCAN,
        )
        held = {row[0] for row in rows}
        cited: dict[str, int] = {}
        for row in rows:
            for prev in prev_event_ids(orjson.loads(row[1])):
                if prev not in held:
                    cited.setdefault(prev, int(row[2]))
        if not cited:
            return [], None
        known = await self._db.fetchall(
            "SELECT event_id FROM events WHERE stream_pos > ? AND event_id IN ("
            + ",".join("?" * len(cited))
            + ")",
            DEEP_HISTORY,
            *cited,
        )
        missing = [eid for eid in cited if eid not in {r[0] for r in known}]
        return missing, (cited[missing[0]] if missing else None)

    async def backfill(self, room_id: str, wanted: int) -> bool:
        """Fetch up to ``wanted`` events before the room's oldest gap; True if any came."""
        missing, group = await self.gaps(room_id)
        if not missing or group is None:
            return False
        servers = {server_name_of(m) for m in await self._state.members(room_id)} - {self._me}
        for server in sorted(servers):
            try:
                answer = await self._client.request(
                    "GET",
                    server,
                    encode_path("/_matrix/federation/v1/backfill/{}", room_id),
                    query={"v": missing[:20], "limit": str(min(wanted, MAX_BACKFILL))},
                )
            except FederationRequestError as exc:
                log.info("backfill of %s from %s failed: %s", room_id, server, exc)
                continue
            pdus = answer.get("pdus") if isinstance(answer, dict) else None
            if not isinstance(pdus, list):
                continue
            placed = await self._placed(server, room_id, await self._checked(pdus, room_id))
            if placed:
                await self._remote_rooms.write_backfill(room_id, placed)
                return True
        return False

    async def _placed(
        self, origin: str, room_id: str, events: list[tuple[str, JsonDict]]
    ) -> list[Backfilled]:
        """The batch's events that pass their checks, oldest first, with the state before each."""
        version = await self._events.room_version(room_id)
        batch = dict(events)
        held = await self._event_store.get_events(batch)
        batch = {
            eid: pdu
            for eid, pdu in batch.items()
            if eid not in held or held[eid].stream_pos <= DEEP_HISTORY
        }
        after: dict[str, StateMap] = {}
        placed: list[Backfilled] = []
        for event_id in sort_by_prev(batch):
            pdu = batch[event_id]
            before = await self._state_before(origin, room_id, version, pdu, after)
            if before is None:
                log.info("backfilled event %s: no state is known before it", event_id)
                continue
            try:
                await self._pipeline.auth_with_own_auth_events(origin, version, event_id, pdu)
                await self._events.graph.auth_against(version, pdu, before)
            except AuthError as exc:
                log.info("backfilled event %s from %s rejected: %s", event_id, origin, exc)
                await self._events.record_outcome(
                    room_id, origin, event_id, pdu, REJECTED, f"backfilled: {exc}"
                )
                after[event_id] = before  # a rejected event changes no state
                continue
            state_key = pdu.get("state_key")
            key = (str(pdu["type"]), state_key) if isinstance(state_key, str) else None
            after[event_id] = before if key is None else {**before, key: event_id}
            placed.append(Backfilled(event_id, pdu, before))
        return placed

    async def _state_before(
        self,
        origin: str,
        room_id: str,
        version: RoomVersion,
        pdu: JsonDict,
        after: dict[str, StateMap],
    ) -> StateMap | None:
        """The resolved states after the event's prev_events: the batch's, held, or asked."""
        sets: list[StateMap] = []
        for prev in prev_event_ids(pdu, version):
            state = after.get(prev)
            if state is None:
                state = await self._held_state_after(room_id, prev)
            if state is None:
                state = await self._missing.state_after(
                    origin, room_id, prev, version, self._pipeline
                )
            if state is not None:
                sets.append(state)
        if not sets:
            return None
        return await self._events.graph.resolve(version, sets)

    async def _held_state_after(self, room_id: str, event_id: str) -> StateMap | None:
        """The state after an event held here with its state (not the join's bare history)."""
        stored = await self._event_store.get_event(event_id)
        if stored is None or stored.room_id != room_id or stored.stream_pos <= DEEP_HISTORY:
            return None
        group = stored.stream_pos if stored.state_key is not None else stored.state_group
        state = dict(await self._state.get_state_ids(group))
        return state or None

    async def _checked(self, pdus: list[Any], room_id: str) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for raw in pdus[:MAX_BACKFILL]:
            try:
                _version, event_id, pdu = await self._pipeline.check(raw)
            except PduFormatError as exc:
                log.info("backfilled event refused: %s", exc)
                continue
            if pdu.get("room_id") == room_id:
                found.append((event_id, pdu))
        return found
