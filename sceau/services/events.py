"""Creating, authorising and persisting room events.

Every event, from createRoom's first to a chat message, goes through
:class:`EventService`: it is built as a full PDU for its room version
(reference-hash ID, content hash, signature, prev/auth events, depth) and
checked against the authorization rules here, then written by
:class:`~sceau.services.event_writer.EventWriter` in one transaction together
with the state it changes. Events of one room are built one batch at a time
under a per-room lock: each cites the room's forward extremities as its
prev_events, so a room written only here stays a simple chain, and one
that forked (events received over federation) is merged by the next send.
"""

import asyncio
import contextlib
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from sceau.clock import Clock
from sceau.errors import MatrixError, bad_json, forbidden, not_found, too_large
from sceau.notifier import Notifier
from sceau.protocol.auth_rules import AuthError, check_event_auth
from sceau.protocol.canonical_json import CanonicalJsonError
from sceau.protocol.events import auth_event_types, build_pdu, room_id_for_create_event
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.signing import SigningKey
from sceau.protocol.types import JsonDict, StateKey
from sceau.services.event_graph import EventGraph, ReceivedEvent, Refusal
from sceau.services.event_types import BuiltEvent, EventSpec, RoomDraft
from sceau.services.event_writer import EventWriter
from sceau.services.recent_events import RecentEvents
from sceau.services.send_queue import PendingSend, SendQueue
from sceau.services.state_history import DEEP_HISTORY, write_state_history
from sceau.storage.database import Database, Transaction
from sceau.storage.events import EventStore
from sceau.storage.received_pdus import (
    ACCEPTED,
    OUTLIER,
    SOFT_FAILED,
    PduOutcome,
    ReceivedPduStore,
)
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore
from sceau.streams import StreamIdGenerator

MAX_PDU_BYTES = 65_536
MAX_ID_BYTES = 255

#: What a room's send queue holds: a local send to build, or a received PDU to place.
QueuedEvent = EventSpec | ReceivedEvent


class PduRefused(Exception):
    """A received event was rejected or soft-failed (its outcome is recorded)."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(f"{outcome}: {reason}")
        self.outcome = outcome
        self.reason = reason


class RoomOwners(Protocol):
    """Which process writes each room's events, when there are several (workers).

    A room's DAG head, state and newest events live in the memory of the one
    process that writes it; every other process hands its sends over.
    """

    def owns(self, room_id: str) -> bool: ...

    async def send(self, room_id: str, spec: EventSpec) -> str: ...

    async def receive(self, room_id: str, received: ReceivedEvent) -> str: ...


class EventService:
    DRAFT_CACHE_SIZE = 1000

    def __init__(
        self,
        *,
        server_name: str,
        clock: Clock,
        signing_key: SigningKey,
        db: Database,
        events: EventStore,
        state: StateStore,
        rooms: RoomStore,
        stream: StreamIdGenerator,
        notifier: Notifier,
        recent: RecentEvents | None = None,
        received: ReceivedPduStore | None = None,
    ) -> None:
        self._server_name = server_name
        self._clock = clock
        self._signing_key = signing_key
        self._db = db
        self._events = events
        self._state = state
        self._rooms = rooms
        self._stream = stream
        self._writer = EventWriter(
            clock=clock,
            db=db,
            events=events,
            state=state,
            rooms=rooms,
            stream=stream,
            notifier=notifier,
            recent=recent if recent is not None else RecentEvents(),
        )
        # What other services read or extend, owned by the writer.
        self.recent = self._writer.recent
        self.room_changes = self._writer.room_changes
        self.member_changes = self._writer.member_changes
        self.relation_targets = self._writer.relation_targets
        self.persist_hooks = self._writer.persist_hooks
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        #: Sends waiting for their room's lock, written in batches (group commit).
        self._queue: SendQueue[QueuedEvent] = SendQueue(self._lock, self._write_batch)
        self._received = received if received is not None else ReceivedPduStore(db)
        #: The DAG work that received events need (state before them, merges).
        self.graph = self._graph = EventGraph(events=events, state=state, received=self._received)
        #: Rooms' heads and state by room, bounded; updated on the write path only.
        self._drafts: OrderedDict[str, RoomDraft] = OrderedDict()
        #: Held while state history positions are chosen (state_history.py).
        self.history_lock = asyncio.Lock()
        #: Checks every local event passes before it is built (the state's room policy).
        self.local_checks: list[Callable[[str, EventSpec], Awaitable[None]]] = []
        #: Several processes: who writes which room (None: this process writes all).
        self.owners: RoomOwners | None = None

    def observe_batches(self, observer: Callable[[int], None]) -> None:
        """Tell ``observer`` the size of every batch of events written (metrics)."""
        self._writer.on_batch = observer

    @property
    def server_name(self) -> str:
        return self._server_name

    @property
    def writer(self) -> EventWriter:
        return self._writer

    def room_lock(self, room_id: str) -> asyncio.Lock:
        """The lock under which the room's DAG changes (for rooms written from elsewhere)."""
        return self._lock(room_id)

    async def peek_draft(self, room_id: str) -> RoomDraft:
        """The room's extremities and state as they are now; read, never change it."""
        return self._drafts.get(room_id) or await self._load_draft(room_id)

    def remember_draft(self, room_id: str, draft: RoomDraft) -> None:
        self._remember(room_id, draft)

    def _lock(self, room_id: str) -> asyncio.Lock:
        lock = self._locks.get(room_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[room_id] = lock
        return lock

    async def room_version(self, room_id: str) -> RoomVersion:
        room = await self._rooms.get_room(room_id)
        if room is None:
            raise not_found("Unknown room")
        version = get_room_version(room.room_version)
        if version is None:
            raise MatrixError(500, "M_UNKNOWN", "Room has an unknown version")
        return version

    # ---------------------------------------------------------------- sending

    async def send(self, room_id: str, spec: EventSpec) -> str:
        """Send one event into an existing room; returns its event ID.

        Concurrent sends to one room are written together in one transaction
        (see :mod:`sceau.services.send_queue`); each still succeeds or fails
        on its own.
        """
        if self.owners is not None and not self.owners.owns(room_id):
            return await self.owners.send(room_id, spec)
        for check in self.local_checks:
            await check(room_id, spec)
        return await self._queue.submit(room_id, spec)

    async def receive(self, room_id: str, received: ReceivedEvent) -> str:
        """Place an event received over federation in its room's DAG; returns its ID.

        It joins the same queue as local sends, so it is ordered and committed
        with them. Raises :class:`PduRefused` if it is rejected or soft-failed
        (its outcome is recorded all the same). With several processes it is
        placed by the room's writer, which holds the room's head.
        """
        if self.owners is not None and not self.owners.owns(room_id):
            return await self.owners.receive(room_id, received)
        return await self._queue.submit(room_id, received)

    async def _write_batch(self, room_id: str, batch: list[PendingSend[QueuedEvent]]) -> None:
        """Build and persist the batch's events; an event that fails to build fails alone.

        A failure while persisting fails the whole batch (nothing was written),
        and the caller retries its events one at a time.
        """
        accepted: list[tuple[PendingSend[QueuedEvent], str]] = []
        refused: list[tuple[PendingSend[QueuedEvent], PduOutcome]] = []
        outcomes: list[PduOutcome] = []
        txn_keys = [
            p.item.txn.key(p.item.sender, room_id)
            for p in batch
            if isinstance(p.item, EventSpec) and p.item.txn is not None
        ]
        seen_txns = await self._events.get_txn_events(txn_keys) if txn_keys else {}
        # A draft taken out of the cache goes back only if the write succeeds,
        # so a failed build or commit never leaves a half-updated draft behind.
        draft = self._drafts.pop(room_id, None) or await self._load_draft(room_id)
        built: list[BuiltEvent] = []
        for pending in batch:
            spec = pending.item
            if isinstance(spec, ReceivedEvent):
                outcome = await self._accept_received(draft, spec, built)
                if outcome.outcome == ACCEPTED:
                    accepted.append((pending, spec.event_id))
                    if outcome.reason is None:
                        outcomes.append(outcome)
                else:
                    refused.append((pending, outcome))
                    outcomes.append(outcome)
                continue
            txn_key = spec.txn.key(spec.sender, room_id) if spec.txn is not None else None
            if txn_key is not None:
                existing = seen_txns.get(txn_key)
                if existing is not None:
                    accepted.append((pending, existing))
                    continue
            try:
                item = await self._build(draft, spec)
            except MatrixError as exc:
                if len(batch) == 1:
                    raise
                pending.fail(exc)
                continue
            if spec.countersign is not None:
                # A refusal fails the batch; its sends are then retried one at a time.
                item.pdu = await spec.countersign(item.event_id, item.pdu)
                if spec.state_key is not None:
                    draft.pdus[item.event_id] = item.pdu
            built.append(item)
            accepted.append((pending, item.event_id))
            if txn_key is not None:
                seen_txns[txn_key] = item.event_id
        if built:
            history = await self._state_history(room_id, built)

            async def record(txn: Transaction, _room_id: str) -> None:
                if outcomes:
                    await self._received.record(txn, outcomes, self._clock.time_ms())
                if history:
                    await write_state_history(txn, self._events, room_id, history)

            async with self.history_lock if history else contextlib.nullcontext():
                await self._writer.persist(draft, built, new_room=None, extra_write=record)
        elif outcomes:
            async with self._db.transaction() as txn:
                await self._received.record(txn, outcomes, self._clock.time_ms())
        self._remember(room_id, draft)
        for pending, event_id in accepted:
            pending.succeed(event_id)
        for pending, outcome in refused:
            pending.fail(PduRefused(outcome.outcome, outcome.reason or ""))

    async def _state_history(
        self, room_id: str, built: list[BuiltEvent]
    ) -> list[tuple[str, JsonDict]]:
        """The fetched or soft-failed state events the batch's states cite, not yet held.

        They become part of the room's state here, and clients read state
        through the events table: they are written there as state history.
        """
        wanted = {eid for item in built for eid in item.foreign_state}
        wanted -= {item.event_id for item in built}
        if not wanted:
            return []
        held = await self._events.get_events(wanted)
        kept = await self._received.get_pdus(
            [eid for eid in wanted if eid not in held], (OUTLIER, SOFT_FAILED)
        )
        found = [(eid, pdu) for eid, (room, pdu) in kept.items() if room == room_id]
        return sorted(found, key=lambda item: (_depth(item[1]), item[0]))

    async def record_outcome(
        self,
        room_id: str,
        origin: str,
        event_id: str,
        pdu: JsonDict,
        outcome: str,
        reason: str | None,
    ) -> None:
        """Record a received event kept off the timeline before it reached the queue."""
        async with self._db.transaction() as txn:
            await self._received.record(
                txn,
                [PduOutcome(event_id, room_id, origin, outcome, reason, pdu)],
                self._clock.time_ms(),
            )

    async def _accept_received(
        self, draft: RoomDraft, received: ReceivedEvent, built: list[BuiltEvent]
    ) -> PduOutcome:
        """Accept a received event into ``built``, or say what keeps it apart.

        An event already on the room's timeline comes back accepted with the
        reason "known" (its outcome was recorded the first time); one held
        only as state history goes through the checks like a new one.
        """
        room_id = draft.room_id or ""
        held = await self._events.get_event(received.event_id)
        if any(b.event_id == received.event_id for b in built) or (
            held is not None and held.stream_pos > DEEP_HISTORY
        ):
            return PduOutcome(received.event_id, room_id, received.origin, ACCEPTED, "known", None)
        # An event held as state history only is placed on the timeline now, once.
        result = await self._graph.accept(draft, received, held_as_history=held is not None)
        if isinstance(result, Refusal):
            return PduOutcome(
                received.event_id,
                room_id,
                received.origin,
                result.outcome,
                result.reason,
                received.pdu,
            )
        built.append(result)
        return PduOutcome(received.event_id, room_id, received.origin, ACCEPTED, None, None)

    def _remember(self, room_id: str, draft: RoomDraft) -> None:
        """Keep the room's extremities and state in memory: only this service writes them."""
        draft.forget_inner_states()
        self._drafts[room_id] = draft
        while len(self._drafts) > self.DRAFT_CACHE_SIZE:
            self._drafts.popitem(last=False)

    def db_transaction(self) -> Any:
        """A plain transaction, for small writes that go with room changes (aliases)."""
        return self._db.transaction()

    async def create_room(
        self,
        version: RoomVersion,
        room_id: str | None,
        creator: str,
        specs: list[EventSpec],
        published: bool,
        extra_write: Callable[[Transaction, str], Awaitable[None]] | None = None,
    ) -> str:
        """Create a room and its initial events in one transaction; returns the room ID.

        ``room_id`` is None for versions whose room ID is the create event's hash.
        ``extra_write`` runs in the same transaction (the room's alias), so a
        failure there leaves no half-created room behind.
        """
        draft = RoomDraft(
            room_id=room_id, version=version, extremities={}, state_group=None, state={}
        )
        built = []
        for spec in specs:
            built.append(await self._build(draft, spec))
            if draft.room_id is None:
                draft.room_id = room_id_for_create_event(built[0].event_id)
        assert draft.room_id is not None
        async with self._lock(draft.room_id):
            await self._writer.persist(
                draft, built, new_room=(creator, published), extra_write=extra_write
            )
            if self.owners is None or self.owners.owns(draft.room_id):
                self._remember(draft.room_id, draft)
            else:
                # Another process writes the room from now on: what this one
                # holds of it would fall behind.
                self.recent.forget(draft.room_id)
        return draft.room_id

    async def _load_draft(self, room_id: str) -> RoomDraft:
        room = await self._rooms.get_room(room_id)
        if room is None or room.head_state_group is None:
            raise not_found("Unknown room")
        version = get_room_version(room.room_version)
        if version is None:
            raise MatrixError(500, "M_UNKNOWN", "Room has an unknown version")
        state = dict(await self._state.get_state_ids(room.head_state_group))
        rows = await self._rooms.extremity_rows(room_id)
        extremities = await self._rooms.forward_extremities(room_id) if len(rows) < 2 else rows
        return RoomDraft(
            room_id=room_id,
            version=version,
            extremities=extremities,
            state_group=room.head_state_group,
            state=state,
            # With one extremity, the state after it is the current state.
            after_states={eid: state for eid in extremities} if len(extremities) == 1 else {},
            stored_extremities=set(rows),
        )

    async def _auth_state(self, draft: RoomDraft, keys: list[StateKey]) -> dict[StateKey, JsonDict]:
        wanted = {key: draft.state[key] for key in keys if key in draft.state}
        create_id = draft.state.get(("m.room.create", ""))
        if create_id is not None:
            wanted[("m.room.create", "")] = create_id
        missing = [eid for eid in wanted.values() if eid not in draft.pdus]
        if missing:
            for event_id, stored in (await self._events.get_events(missing)).items():
                draft.pdus[event_id] = stored.pdu
        return {key: draft.pdus[eid] for key, eid in wanted.items() if eid in draft.pdus}

    async def _build(self, draft: RoomDraft, spec: EventSpec) -> BuiltEvent:
        _check_sizes(spec)
        version = draft.version
        keys = auth_event_types(spec.event_type, spec.state_key, spec.sender, spec.content, version)
        auth_ids = [draft.state[key] for key in keys if key in draft.state]
        prev_events = draft.prev_events()
        depth = max((draft.extremities[p] for p in prev_events), default=0) + 1
        try:
            event_id, pdu = build_pdu(
                room_version=version,
                room_id=None
                if (version.room_id_from_create_event and spec.event_type == "m.room.create")
                else draft.room_id,
                sender=spec.sender,
                event_type=spec.event_type,
                content=spec.content,
                state_key=spec.state_key,
                prev_events=prev_events,
                auth_events=auth_ids,
                depth=depth,
                origin_server_ts=self._clock.time_ms(),
                redacts=spec.redacts,
                origin=self._server_name,
                signing_key=self._signing_key,
            )
        except CanonicalJsonError as exc:
            raise bad_json(f"Event content is not valid canonical JSON: {exc}") from None
        # Compact JSON has the canonical form's length; no need to sort keys again.
        if len(orjson.dumps(pdu)) > MAX_PDU_BYTES:
            raise too_large("Event is larger than 65536 bytes")
        auth_state = await self._auth_state(draft, keys)
        if spec.event_type == "m.room.create":
            auth_state = {}
        try:
            check_event_auth(pdu, auth_state, version)
        except AuthError as exc:
            raise forbidden(str(exc)) from None
        # Copy on write: the state before an event is never changed afterwards,
        # so a message shares its dict with the events around it.
        state_before = draft.state
        replaces = None
        if spec.state_key is not None:
            key = (spec.event_type, spec.state_key)
            replaces = draft.state.get(key)
            draft.state = {**draft.state, key: event_id}
            draft.pdus[event_id] = pdu
            self._graph.remember(event_id, pdu)
            if replaces is not None:
                draft.pdus.pop(replaces, None)
        draft.advance(event_id, prev_events, depth, draft.state)
        return BuiltEvent(event_id, pdu, spec, state_before, replaces)


def _depth(pdu: JsonDict) -> int:
    depth = pdu.get("depth")
    return depth if isinstance(depth, int) else 0


def _check_sizes(spec: EventSpec) -> None:
    if len(spec.event_type.encode()) > MAX_ID_BYTES:
        raise bad_json("Event type is longer than 255 bytes")
    if spec.state_key is not None and len(spec.state_key.encode()) > MAX_ID_BYTES:
        raise bad_json("State key is longer than 255 bytes")


def client_event(pdu: JsonDict, event_id: str, room_version: RoomVersion) -> dict[str, Any]:
    """The client-server format of a PDU (without ``unsigned``)."""
    event: dict[str, Any] = {
        "type": pdu["type"],
        "content": pdu.get("content", {}),
        "sender": pdu["sender"],
        "origin_server_ts": pdu["origin_server_ts"],
        "event_id": event_id,
        "room_id": pdu.get("room_id") or room_id_for_create_event(event_id),
    }
    if "state_key" in pdu:
        event["state_key"] = pdu["state_key"]
    if pdu["type"] == "m.room.redaction":
        redacts = pdu.get("redacts")
        if room_version.redacts_in_content:
            content = pdu.get("content")
            redacts = content.get("redacts") if isinstance(content, dict) else None
        if isinstance(redacts, str):
            event["redacts"] = redacts
    return event
