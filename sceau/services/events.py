"""Creating, authorising and persisting room events.

Every event, from createRoom's first to a chat message, goes through
:meth:`EventService.send_events`: it is built as a full PDU for its room
version (reference-hash ID, content hash, signature, prev/auth events, depth),
checked against the authorization rules, then written in one transaction
together with the state it changes. Events of one room are created one at a
time under a per-room lock, so the room's graph stays a simple chain.
"""

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from sceau.clock import Clock
from sceau.errors import MatrixError, bad_json, forbidden, not_found, too_large
from sceau.notifier import Notifier
from sceau.protocol.auth_rules import AuthError, check_event_auth
from sceau.protocol.canonical_json import CanonicalJsonError
from sceau.protocol.events import auth_event_types, build_pdu, room_id_for_create_event
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.signing import SigningKey
from sceau.protocol.types import JsonDict, StateKey
from sceau.services.recent_events import RecentEvents
from sceau.storage.database import Database, Transaction
from sceau.storage.events import EventStore, NewEvent, StoredEvent
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore
from sceau.streams import ChangeTracker, StreamIdGenerator

MAX_PDU_BYTES = 65_536
MAX_ID_BYTES = 255


@dataclass(frozen=True)
class EventSpec:
    """What a caller wants to send; the service fills in the rest of the PDU."""

    event_type: str
    content: JsonDict
    sender: str
    state_key: str | None = None
    redacts: str | None = None
    #: (device_id, txn_id) for idempotent client sends.
    txn: tuple[str, str] | None = None


@dataclass(frozen=True)
class PersistedEvent:
    """An event just written, as seen by hooks running in the same transaction."""

    event_id: str
    room_id: str
    pdu: JsonDict
    stream_pos: int
    room_version: RoomVersion
    #: Room state (type, state_key) -> event_id just before this event.
    state_before: dict[StateKey, str]


#: Called inside the persisting transaction, once the rows of all its events
#: (one or more, in stream order) are written.
PersistHook = Callable[[Transaction, list[PersistedEvent]], Awaitable[None]]


@dataclass
class _RoomDraft:
    """The room as events are being built: head, depth and state, in memory."""

    room_id: str | None
    version: RoomVersion
    head: str | None
    depth: int
    state_group: int | None
    state: dict[StateKey, str]
    pdus: dict[str, JsonDict] = field(default_factory=dict)


@dataclass
class _Built:
    event_id: str
    pdu: JsonDict
    spec: EventSpec
    state_before: dict[StateKey, str]
    replaces_state: str | None


@dataclass
class _PendingSend:
    """A send waiting for its room's lock, and the future its caller awaits."""

    spec: EventSpec
    outcome: "asyncio.Future[str]"

    def fail(self, exc: BaseException) -> None:
        if not self.outcome.done():
            self.outcome.set_exception(exc)


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
    ) -> None:
        self._server_name = server_name
        self._clock = clock
        self._signing_key = signing_key
        self._db = db
        self._events = events
        self._state = state
        self._rooms = rooms
        self._stream = stream
        #: Which rooms got events at which position (for /sync to skip quiet rooms).
        self.room_changes = ChangeTracker(stream.current())
        #: Rooms (by room ID) and users (by user ID) whose membership changed.
        self.member_changes = ChangeTracker(stream.current())
        #: Events that became the target of a relation (edit, thread, reaction...).
        self.relation_targets = ChangeTracker(stream.current())
        self._notifier = notifier
        #: The newest events of busy rooms, for woken /sync requests.
        self.recent = recent if recent is not None else RecentEvents()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        #: Sends waiting for their room's lock, by room (see :meth:`send`).
        self._queues: dict[str, list[_PendingSend]] = {}
        self._drains: set[asyncio.Task[None]] = set()
        self.persist_hooks: list[PersistHook] = []
        #: Rooms' heads and state by room, bounded; updated on the write path only.
        self._drafts: OrderedDict[str, _RoomDraft] = OrderedDict()

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

        Sends to one room queue up; a drain task takes the room's lock and
        writes every send queued by then in one transaction (group commit):
        under load a room commits many events per round trip instead of one.
        The write runs in its own task, so a caller that goes away (a closed
        connection) cannot cancel the other senders' events.
        """
        pending = _PendingSend(spec, asyncio.get_running_loop().create_future())
        queue = self._queues.get(room_id)
        if queue is not None:
            queue.append(pending)
        else:
            self._queues[room_id] = [pending]
            drain = asyncio.create_task(self._drain(room_id))
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        return await asyncio.shield(pending.outcome)

    async def _drain(self, room_id: str) -> None:
        async with self._lock(room_id):
            batch = self._queues.pop(room_id, [])
            try:
                await self._send_batch(room_id, batch)
            except BaseException as exc:
                for pending in batch:
                    pending.fail(exc)
                raise

    async def _send_batch(self, room_id: str, batch: list["_PendingSend"]) -> None:
        """Write a batch in one transaction; settle every send's outcome."""
        if len(batch) > 1:
            try:
                await self._write_batch(room_id, batch)
                return
            except Exception:
                pass  # one bad event must not sink the others: retry one by one
        for pending in batch:
            if pending.outcome.done():
                continue
            try:
                await self._write_batch(room_id, [pending])
            except Exception as exc:
                pending.fail(exc)

    async def _write_batch(self, room_id: str, batch: list["_PendingSend"]) -> None:
        """Build and persist the batch's events; an event that fails to build fails alone.

        A failure while persisting fails the whole batch (nothing was written),
        and the caller retries its events one at a time.
        """
        accepted: list[tuple[_PendingSend, str]] = []
        txn_keys = [(p.spec.sender, *p.spec.txn) for p in batch if p.spec.txn is not None]
        seen_txns = await self._events.get_txn_events(txn_keys) if txn_keys else {}
        # A draft taken out of the cache goes back only if the write succeeds,
        # so a failed build or commit never leaves a half-updated draft behind.
        draft = self._drafts.pop(room_id, None) or await self._load_draft(room_id)
        built: list[_Built] = []
        for pending in batch:
            spec = pending.spec
            txn_key = (spec.sender, *spec.txn) if spec.txn is not None else None
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
            built.append(item)
            accepted.append((pending, item.event_id))
            if txn_key is not None:
                seen_txns[txn_key] = item.event_id
        if built:
            await self._persist(draft, built, new_room=None)
        self._remember(room_id, draft)
        for pending, event_id in accepted:
            if not pending.outcome.done():
                pending.outcome.set_result(event_id)

    def _remember(self, room_id: str, draft: _RoomDraft) -> None:
        """Keep the room's head and state in memory: only this service writes them."""
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
        draft = _RoomDraft(
            room_id=room_id, version=version, head=None, depth=0, state_group=None, state={}
        )
        built = []
        for spec in specs:
            built.append(await self._build(draft, spec))
            if draft.room_id is None:
                draft.room_id = room_id_for_create_event(built[0].event_id)
        assert draft.room_id is not None
        async with self._lock(draft.room_id):
            await self._persist(
                draft, built, new_room=(creator, published), extra_write=extra_write
            )
            self._remember(draft.room_id, draft)
        return draft.room_id

    async def _load_draft(self, room_id: str) -> _RoomDraft:
        room = await self._rooms.get_room(room_id)
        if room is None or room.head_state_group is None:
            raise not_found("Unknown room")
        version = get_room_version(room.room_version)
        if version is None:
            raise MatrixError(500, "M_UNKNOWN", "Room has an unknown version")
        state = dict(await self._state.get_state_ids(room.head_state_group))
        return _RoomDraft(
            room_id=room_id,
            version=version,
            head=room.head_event_id,
            depth=room.head_depth,
            state_group=room.head_state_group,
            state=state,
        )

    async def _auth_state(
        self, draft: _RoomDraft, keys: list[StateKey]
    ) -> dict[StateKey, JsonDict]:
        wanted = {key: draft.state[key] for key in keys if key in draft.state}
        create_id = draft.state.get(("m.room.create", ""))
        if create_id is not None:
            wanted[("m.room.create", "")] = create_id
        missing = [eid for eid in wanted.values() if eid not in draft.pdus]
        if missing:
            for event_id, stored in (await self._events.get_events(missing)).items():
                draft.pdus[event_id] = stored.pdu
        return {key: draft.pdus[eid] for key, eid in wanted.items() if eid in draft.pdus}

    async def _build(self, draft: _RoomDraft, spec: EventSpec) -> _Built:
        _check_sizes(spec)
        version = draft.version
        keys = auth_event_types(spec.event_type, spec.state_key, spec.sender, spec.content, version)
        auth_ids = [draft.state[key] for key in keys if key in draft.state]
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
                prev_events=[draft.head] if draft.head else [],
                auth_events=auth_ids,
                depth=draft.depth + 1,
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
        state_before = dict(draft.state)
        replaces = None
        if spec.state_key is not None:
            key = (spec.event_type, spec.state_key)
            replaces = draft.state.get(key)
            draft.state[key] = event_id
            draft.pdus[event_id] = pdu
            if replaces is not None:
                draft.pdus.pop(replaces, None)
        draft.head = event_id
        draft.depth += 1
        return _Built(event_id, pdu, spec, state_before, replaces)

    async def _persist(
        self,
        draft: _RoomDraft,
        built: list[_Built],
        new_room: tuple[str, bool] | None,
        extra_write: Callable[[Transaction, str], Awaitable[None]] | None = None,
    ) -> None:
        room_id = draft.room_id
        assert room_id is not None
        notify_users: set[str] = set()
        member_positions: dict[str, int] = {}
        relation_positions: dict[str, int] = {}
        written: list[StoredEvent] = []
        rewrote_history = False
        async with (
            self._stream.next_positions(len(built)) as positions,
            self._db.transaction() as txn,
        ):
            if new_room is not None:
                creator, published = new_room
                if not await self._rooms.insert_room(
                    txn,
                    room_id,
                    draft.version.identifier,
                    creator,
                    self._clock.time_ms(),
                    published,
                ):
                    raise MatrixError(400, "M_UNKNOWN", "Room ID collision, try again")
            group = None if new_room is not None else draft.state_group
            for position, item in zip(positions, built, strict=True):
                stored = await self._write_state(txn, room_id, position, item, group)
                group = stored.state_group if item.spec.state_key is None else position
                written.append(stored)
                rewrote_history |= item.spec.event_type == "m.room.redaction"
                _rel_type, target = _relation(item.spec.content)
                if target is not None:
                    relation_positions[target] = position
                if item.spec.event_type == "m.room.member" and item.spec.state_key:
                    notify_users.add(item.spec.state_key)
                    member_positions[item.spec.state_key] = position
            assert group is not None
            await self._write_events(txn, draft.version, built, written)
            await self._rooms.set_head(txn, room_id, built[-1].event_id, draft.depth, group)
            draft.state_group = group
            if extra_write is not None:
                await extra_write(txn, room_id)
        if rewrote_history:
            self.recent.forget(room_id)
        self.recent.append(room_id, written)
        self.room_changes.record(room_id, positions[-1])
        for target, position in relation_positions.items():
            self.relation_targets.record(target, position)
        for user_id, position in member_positions.items():
            self.member_changes.record(user_id, position)
            self.member_changes.record(room_id, position)
        self._notifier.notify_room(room_id)
        if notify_users:
            self._notifier.notify_users(notify_users)

    async def _write_state(
        self, txn: Transaction, room_id: str, position: int, item: _Built, group: int | None
    ) -> StoredEvent:
        """Record a state event's change (new state group, current state).

        Returns the event as it will be stored; its row is written with the
        rest of the batch by :meth:`_write_events`.
        """
        spec = item.spec
        group_before = group if group is not None else position
        if spec.state_key is not None:
            key = (spec.event_type, spec.state_key)
            await self._state.create_group(txn, position, room_id, group, {key: item.event_id})
            membership = (
                spec.content.get("membership") if spec.event_type == "m.room.member" else None
            )
            await self._state.set_current_state(
                txn,
                room_id,
                spec.event_type,
                spec.state_key,
                item.event_id,
                membership if isinstance(membership, str) else None,
                position,
            )
        return StoredEvent(
            stream_pos=position,
            event_id=item.event_id,
            room_id=room_id,
            pdu=item.pdu,
            redacted_by=None,
            replaces_state=item.replaces_state,
            state_group=group_before,
        )

    async def _write_events(
        self,
        txn: Transaction,
        version: RoomVersion,
        built: list[_Built],
        written: list[StoredEvent],
    ) -> None:
        """Insert a batch's event rows and transaction IDs, apply redactions, run the hooks.

        Rows go in with one statement per table, not one per event: a batch
        of fifty messages costs a handful of round trips to the database.
        """
        rows = []
        txn_ids = []
        now = self._clock.time_ms()
        for item, stored in zip(built, written, strict=True):
            rel_type, relates_to = _relation(item.spec.content)
            rows.append(
                NewEvent(
                    stream_pos=stored.stream_pos,
                    event_id=stored.event_id,
                    room_id=stored.room_id,
                    pdu=item.pdu,
                    pdu_json=orjson.dumps(item.pdu).decode(),
                    state_group=stored.state_group,
                    replaces_state=item.replaces_state,
                    rel_type=rel_type,
                    relates_to=relates_to,
                )
            )
            if item.spec.txn is not None:
                txn_ids.append((item.spec.sender, *item.spec.txn, item.event_id, now))
        await self._events.insert_events(txn, rows)
        if txn_ids:
            await self._events.insert_txns(txn, txn_ids)
        for item, stored in zip(built, written, strict=True):
            if item.spec.event_type == "m.room.redaction" and item.spec.redacts:
                await self._apply_redaction(
                    txn, stored.room_id, version, item.spec.redacts, item.event_id
                )
        persisted = [
            PersistedEvent(
                item.event_id,
                stored.room_id,
                item.pdu,
                stored.stream_pos,
                version,
                item.state_before,
            )
            for item, stored in zip(built, written, strict=True)
        ]
        for hook in self.persist_hooks:
            await hook(txn, persisted)

    async def _apply_redaction(
        self,
        txn: Transaction,
        room_id: str,
        version: RoomVersion,
        target_id: str,
        redaction_id: str,
    ) -> None:
        row = await txn.fetchone("SELECT pdu, room_id FROM events WHERE event_id = ?", target_id)
        if row is None or row[1] != room_id:
            return
        redacted = redact_event(orjson.loads(row[0]), version)
        await self._events.mark_redacted(
            txn, target_id, redaction_id, orjson.dumps(redacted).decode()
        )


def _relation(content: JsonDict) -> tuple[str | None, str | None]:
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return None, None
    rel_type = relates.get("rel_type")
    target = relates.get("event_id")
    if isinstance(rel_type, str) and isinstance(target, str):
        return rel_type, target
    return None, None


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
