"""Writing built events: one transaction per batch, then the in-memory follow-up.

:class:`EventWriter` is the half of the event path that touches the
database. It writes a batch of events built by
:class:`~sceau.services.events.EventService` (rows, state groups, current
state, the room's head, transaction IDs, redactions, what the persist hooks
add), and once the transaction has committed it feeds the room's in-memory
tail and change trackers and wakes the /sync requests waiting on the room.
"""

from collections.abc import Awaitable, Callable, Iterator

import orjson

from sceau.clock import Clock
from sceau.errors import MatrixError
from sceau.notifier import Notifier
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict
from sceau.services.event_types import (
    BuiltEvent,
    PersistedEvent,
    PersistHook,
    RoomDraft,
    StateDelta,
)
from sceau.services.recent_events import RecentEvents
from sceau.services.state_history import DEEP_HISTORY
from sceau.storage.database import Database, Transaction
from sceau.storage.events import EventStore, NewEvent, StoredEvent
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore
from sceau.streams import ChangeTracker, StreamIdGenerator


class EventWriter:
    def __init__(
        self,
        *,
        clock: Clock,
        db: Database,
        events: EventStore,
        state: StateStore,
        rooms: RoomStore,
        stream: StreamIdGenerator,
        notifier: Notifier,
        recent: RecentEvents,
    ) -> None:
        self._clock = clock
        self._db = db
        self._events = events
        self._state = state
        self._rooms = rooms
        self._stream = stream
        self._notifier = notifier
        self.recent = recent
        #: Which rooms got events at which position (for /sync to skip quiet rooms).
        self.room_changes = ChangeTracker(stream.current())
        #: Rooms (by room ID) and users (by user ID) whose membership changed.
        self.member_changes = ChangeTracker(stream.current())
        #: Events that became the target of a relation (edit, thread, reaction...).
        self.relation_targets = ChangeTracker(stream.current())
        self.persist_hooks: list[PersistHook] = []
        #: Told the size of every batch written (the metrics' group-commit figures).
        self.on_batch: Callable[[int], None] = _ignore_batch

    async def persist(
        self,
        draft: RoomDraft,
        built: list[BuiltEvent],
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
        extra_groups = sum(
            (item.new_state_before is not None)
            + (item.current is not None and isinstance(item.current.group, StateDelta))
            for item in built
        )
        async with (
            self._stream.next_positions(len(built) + extra_groups) as reserved,
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
            take = iter(reserved)
            positions: list[int] = []
            # The group of the current state as the batch goes on.
            group = None if new_room is not None else draft.state_group
            for item in built:
                before = group
                if item.new_state_before is not None:
                    before = next(take)
                    await self._new_group(txn, room_id, before, group, item.new_state_before)
                position = next(take)
                positions.append(position)
                stored = await self._write_state(txn, room_id, position, item, before)
                after = stored.state_group if item.spec.state_key is None else position
                group = await self._apply_current(txn, room_id, position, item, group, after, take)
                for key in _member_keys(item):
                    notify_users.add(key)
                    member_positions[key] = position
                written.append(stored)
                rewrote_history |= item.spec.event_type == "m.room.redaction"
                _rel_type, target = _relation(item.spec.content)
                if target is not None:
                    relation_positions[target] = position
            assert group is not None
            await self._write_events(txn, draft.version, built, written)
            await self._rooms.set_head(txn, room_id, _head(draft, built), draft.depth, group)
            extremities = set(draft.extremities)
            await self._rooms.set_forward_extremities(
                txn, room_id, draft.stored_extremities, extremities
            )
            if extra_write is not None:
                await extra_write(txn, room_id)
        draft.state_group = group
        draft.stored_extremities = extremities if len(extremities) > 1 else set()
        self.on_batch(len(built))
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
        self, txn: Transaction, room_id: str, position: int, item: BuiltEvent, group: int | None
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
        return StoredEvent(
            stream_pos=position,
            event_id=item.event_id,
            room_id=room_id,
            pdu=item.pdu,
            redacted_by=None,
            replaces_state=item.replaces_state,
            state_group=group_before,
        )

    async def _new_group(
        self,
        txn: Transaction,
        room_id: str,
        group_id: int,
        current_group: int | None,
        delta: StateDelta,
    ) -> None:
        """Write a state that is not the chain's next link, as a delta over the current group."""
        base = None if delta.full else current_group
        await self._state.create_group(txn, group_id, room_id, base, delta.entries)

    async def _apply_current(
        self,
        txn: Transaction,
        room_id: str,
        position: int,
        item: BuiltEvent,
        group: int | None,
        after: int,
        take: Iterator[int],
    ) -> int:
        """Update the current state for this event; return the current state's group."""
        update = item.current
        if update is None:
            spec = item.spec
            if spec.state_key is not None:
                await self._state.set_current_state(
                    txn,
                    room_id,
                    spec.event_type,
                    spec.state_key,
                    item.event_id,
                    _membership(spec.event_type, spec.content),
                    position,
                )
            return after
        for (event_type, state_key), change in update.changes.items():
            if change is None:
                await self._state.delete_current_state(txn, room_id, event_type, state_key)
            else:
                await self._state.set_current_state(
                    txn, room_id, event_type, state_key, change[0], change[1], position
                )
        if update.group == "after":
            return after
        if update.group == "keep":
            assert group is not None
            return group
        assert isinstance(update.group, StateDelta)
        merged = next(take)
        await self._new_group(txn, room_id, merged, group, update.group)
        return merged

    async def _write_events(
        self,
        txn: Transaction,
        version: RoomVersion,
        built: list[BuiltEvent],
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
                key = item.spec.txn.key(item.spec.sender, stored.room_id)
                txn_ids.append((key, item.event_id, now))
        moved = [item.event_id for item in built if item.replaces_history]
        if moved:
            await self._events.delete_state_history(txn, moved, DEEP_HISTORY)
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


def _membership(event_type: str, content: JsonDict) -> str | None:
    membership = content.get("membership") if event_type == "m.room.member" else None
    return membership if isinstance(membership, str) else None


def _member_keys(item: BuiltEvent) -> list[str]:
    """Users whose membership this event changes in the current state."""
    if item.current is None:
        spec = item.spec
        return [spec.state_key] if spec.event_type == "m.room.member" and spec.state_key else []
    return [
        sk for (event_type, sk), _ in item.current.changes.items() if event_type == "m.room.member"
    ]


def _head(draft: RoomDraft, built: list[BuiltEvent]) -> str:
    """The room's newest event: the last placed one, unless it only left state history.

    Such an event sits behind the extremities; the head (the single
    extremity of a chain) stays the deepest extremity then.
    """
    last = built[-1]
    if not last.replaces_history or not draft.extremities:
        return last.event_id
    placed = [
        b.event_id for b in built if not b.replaces_history and b.event_id in draft.extremities
    ]
    if placed:
        return placed[-1]
    return max(draft.extremities.items(), key=lambda item: (item[1], item[0]))[0]


def _ignore_batch(_events: int) -> None:
    return None


def _relation(content: JsonDict) -> tuple[str | None, str | None]:
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return None, None
    rel_type = relates.get("rel_type")
    target = relates.get("event_id")
    if isinstance(rel_type, str) and isinstance(target, str):
        return rel_type, target
    return None, None
