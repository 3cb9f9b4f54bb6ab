"""Read receipts and read markers.

``m.read`` receipts are shared with the room, ``m.read.private`` only with
their owner; ``m.fully_read`` is the read marker, kept as room account data.
A receipt only moves forward, and clears the owner's unread notifications up
to its event (in its thread, or everywhere when unthreaded).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from sceau.clock import Clock
from sceau.errors import bad_json, forbidden, invalid_param, not_found
from sceau.notifier import Notifier
from sceau.protocol.identifiers import is_valid_event_id_any_version
from sceau.services.account_data import AccountDataService
from sceau.services.sync import SyncContext
from sceau.services.typing import add_ephemeral, newly_joined_rooms, wanted_rooms
from sceau.storage.database import Database
from sceau.storage.receipts import Receipt, ReceiptStore
from sceau.storage.state import StateStore
from sceau.streams import ChangeTracker, StreamIdGenerator

READ = "m.read"
READ_PRIVATE = "m.read.private"
FULLY_READ = "m.fully_read"
RECEIPT_TYPES = (READ, READ_PRIVATE, FULLY_READ)


class ReceiptService:
    def __init__(
        self,
        *,
        clock: Clock,
        db: Database,
        stream: StreamIdGenerator,
        notifier: Notifier,
        store: ReceiptStore,
        state: StateStore,
        account_data: AccountDataService,
    ) -> None:
        self._clock = clock
        self._db = db
        self._stream = stream
        self._notifier = notifier
        self._store = store
        self._state = state
        self._account_data = account_data
        #: Rooms whose receipts changed, by position (fed by _store_receipt).
        self.changes = ChangeTracker(stream.current())
        #: Called with (room, user, type, event, ts, thread) after a shared receipt is stored.
        self.hooks: list[Callable[[str, str, str, str, int, str], Awaitable[None]]] = []

    async def send_receipt(
        self, user_id: str, room_id: str, receipt_type: str, event_id: str, thread_id: Any
    ) -> None:
        """POST /rooms/{roomId}/receipt/{receiptType}/{eventId}"""
        if receipt_type not in RECEIPT_TYPES:
            raise invalid_param(f"Receipt type must be one of {', '.join(RECEIPT_TYPES)}")
        thread = _thread(thread_id, receipt_type)
        await self._require_joined(user_id, room_id)
        event_pos = await self._event_position(room_id, event_id)
        if receipt_type == FULLY_READ:
            await self._set_fully_read(user_id, room_id, event_id, event_pos)
        else:
            await self._store_receipt(user_id, room_id, receipt_type, event_id, event_pos, thread)

    async def set_read_markers(self, user_id: str, room_id: str, markers: dict[str, Any]) -> None:
        """POST /rooms/{roomId}/read_markers: any of m.fully_read, m.read, m.read.private."""
        chosen = {t: markers[t] for t in RECEIPT_TYPES if markers.get(t) is not None}
        for receipt_type, event_id in chosen.items():
            if not isinstance(event_id, str):
                raise bad_json(f"'{receipt_type}' must be a string")
        for receipt_type, event_id in chosen.items():
            if not is_valid_event_id_any_version(event_id):
                raise invalid_param(f"'{receipt_type}' must be an event ID")
        await self._require_joined(user_id, room_id)
        positions = {t: await self._event_position(room_id, e) for t, e in chosen.items()}
        for receipt_type, event_id in chosen.items():
            if receipt_type == FULLY_READ:
                await self._set_fully_read(user_id, room_id, event_id, positions[receipt_type])
            else:
                await self._store_receipt(
                    user_id, room_id, receipt_type, event_id, positions[receipt_type], ""
                )

    async def sync_section(self, ctx: SyncContext) -> bool:
        """m.receipt per joined room: changes since the token, or every receipt at first."""
        rooms = wanted_rooms(ctx, "m.receipt")
        if not rooms:
            return False
        since = None if ctx.full_state else ctx.since_stream
        fresh = sorted(newly_joined_rooms(ctx) & set(rooms))
        changed = [r for r in rooms if self.changes.changed_since(r, since)]
        receipts = await self._store.for_rooms(changed, since, ctx.upto.stream) if changed else []
        if since is not None and fresh:
            # A room just joined: its receipts so far, not only the new ones.
            known = {(r.room_id, r.receipt_type, r.user_id, r.thread_id) for r in receipts}
            receipts += [
                r
                for r in await self._store.for_rooms(fresh, None, ctx.upto.stream)
                if (r.room_id, r.receipt_type, r.user_id, r.thread_id) not in known
            ]
        by_room: dict[str, dict[str, Any]] = {}
        for receipt in receipts:
            if receipt.receipt_type == READ_PRIVATE and receipt.user_id != ctx.user_id:
                continue
            content = by_room.setdefault(receipt.room_id, {})
            data: dict[str, Any] = {"ts": receipt.ts}
            if receipt.thread_id:
                data["thread_id"] = receipt.thread_id
            by_type = content.setdefault(receipt.event_id, {})
            by_type.setdefault(receipt.receipt_type, {})[receipt.user_id] = data
        for room_id, content in by_room.items():
            add_ephemeral(ctx, room_id, {"type": "m.receipt", "content": content})
        return bool(by_room)

    async def _require_joined(self, user_id: str, room_id: str) -> None:
        if await self._state.membership(room_id, user_id) != "join":
            raise forbidden("You are not joined to this room")

    async def _event_position(self, room_id: str, event_id: str) -> int:
        position = await self._store.event_position(room_id, event_id)
        if position is None:
            raise not_found("Unknown event in this room")
        return position

    async def _set_fully_read(
        self, user_id: str, room_id: str, event_id: str, event_pos: int
    ) -> None:
        current = await self._account_data.read(user_id, room_id, FULLY_READ)
        current_id = current.get("event_id") if current else None
        if isinstance(current_id, str):
            if current_id == event_id:
                return
            current_pos = await self._store.event_position(room_id, current_id)
            if current_pos is not None and current_pos > event_pos:
                return  # the marker only moves forward
        await self._account_data.write(user_id, room_id, FULLY_READ, {"event_id": event_id})

    async def _store_receipt(
        self,
        user_id: str,
        room_id: str,
        receipt_type: str,
        event_id: str,
        event_pos: int,
        thread_id: str,
    ) -> None:
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            existing = await self._store.existing_event_position(
                txn, room_id, receipt_type, user_id, thread_id
            )
            if existing is not None and existing >= event_pos:
                return  # receipts only move forward
            receipt = Receipt(
                room_id, receipt_type, user_id, thread_id, event_id, self._clock.time_ms(), pos
            )
            await self._store.upsert(txn, receipt, event_pos)
            await self._store.clear_notifications(
                txn, user_id, room_id, thread_id, event_pos, now_ms=receipt.ts
            )
        self.changes.record(room_id, pos)
        if receipt_type == READ_PRIVATE:
            self._notifier.notify_users([user_id])
        else:
            self._notifier.notify_room(room_id)
            for hook in self.hooks:
                await hook(room_id, user_id, receipt_type, event_id, receipt.ts, thread_id)


def _thread(thread_id: Any, receipt_type: str) -> str:
    """The stored thread of a receipt: '' when unthreaded."""
    if thread_id is None:
        return ""
    if not isinstance(thread_id, str):
        raise bad_json("'thread_id' must be a string")
    if not thread_id:
        raise invalid_param("'thread_id' must not be empty")
    if receipt_type == FULLY_READ:
        raise invalid_param("m.fully_read cannot be threaded")
    if thread_id != "main" and not is_valid_event_id_any_version(thread_id):
        raise invalid_param("'thread_id' must be 'main' or a thread root event ID")
    return thread_id
