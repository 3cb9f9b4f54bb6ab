"""Account data: per-user JSON, global or per room, including room tags.

Each write takes a position in the shared stream and wakes only the owner's
long-polls. Some types belong to the server (``m.push_rules``, and
``m.fully_read`` which is a read marker): clients may read them here but set
them through their own endpoints.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from sceau.errors import MatrixError, bad_json, forbidden, invalid_param, not_found
from sceau.notifier import Notifier
from sceau.protocol.identifiers import is_valid_room_id
from sceau.services.sync import SyncContext
from sceau.storage.account_data import GLOBAL, AccountDataStore
from sceau.storage.database import Database, Transaction
from sceau.streams import ChangeTracker, StreamIdGenerator

SERVER_GLOBAL_TYPES = frozenset({"m.push_rules"})
SERVER_ROOM_TYPES = frozenset({"m.fully_read", "m.push_rules"})

#: Computes the content of a server-owned global type for a user.
VirtualType = Callable[[str], Awaitable[dict[str, Any]]]


def server_owned(data_type: str) -> MatrixError:
    return MatrixError(
        405, "M_BAD_JSON", f"Account data of type {data_type} is managed by the server"
    )


GlobalWriteHook = Callable[[Transaction, str, dict[str, Any]], Awaitable[None]]


class AccountDataService:
    def __init__(
        self,
        *,
        db: Database,
        stream: StreamIdGenerator,
        notifier: Notifier,
        store: AccountDataStore,
    ) -> None:
        self._db = db
        self._stream = stream
        self._notifier = notifier
        #: Users whose account data changed, by position (fed by the writes below).
        self.changes = ChangeTracker(stream.current())
        self._store = store
        #: Global types whose content the server computes (m.push_rules).
        self.virtual_types: dict[str, VirtualType] = {}
        #: Called inside the transaction of each global write, by type (policy reacts to some).
        self.global_write_hooks: dict[str, GlobalWriteHook] = {}

    # -------------------------------------------------------------- reading

    async def get_global(self, requester: str, user_id: str, data_type: str) -> dict[str, Any]:
        _own(requester, user_id)
        virtual = self.virtual_types.get(data_type)
        if virtual is not None:
            return await virtual(user_id)
        return _found(await self._store.get(user_id, GLOBAL, data_type))

    async def get_room(
        self, requester: str, user_id: str, room_id: str, data_type: str
    ) -> dict[str, Any]:
        _own(requester, user_id)
        _check_room_id(room_id)
        return _found(await self._store.get(user_id, room_id, data_type))

    async def tags(self, requester: str, user_id: str, room_id: str) -> dict[str, Any]:
        _own(requester, user_id)
        _check_room_id(room_id)
        content = await self._store.get(user_id, room_id, "m.tag") or {}
        tags = content.get("tags")
        return {"tags": tags if isinstance(tags, dict) else {}}

    # -------------------------------------------------------------- writing

    async def put_global(
        self, requester: str, user_id: str, data_type: str, content: dict[str, Any]
    ) -> None:
        _own(requester, user_id)
        if data_type in SERVER_GLOBAL_TYPES:
            raise server_owned(data_type)
        await self.write(user_id, GLOBAL, data_type, content)

    async def put_room(
        self, requester: str, user_id: str, room_id: str, data_type: str, content: dict[str, Any]
    ) -> None:
        _own(requester, user_id)
        _check_room_id(room_id)
        if data_type in SERVER_ROOM_TYPES:
            raise server_owned(data_type)
        await self.write(user_id, room_id, data_type, content)

    async def put_tag(
        self, requester: str, user_id: str, room_id: str, tag: str, body: dict[str, Any]
    ) -> None:
        _own(requester, user_id)
        _check_room_id(room_id)
        order = body.get("order")
        if order is not None and (isinstance(order, bool) or not isinstance(order, int | float)):
            raise bad_json("'order' must be a number")
        if len(tag.encode()) > 255:
            raise invalid_param("Tag names are at most 255 bytes")
        ensure_storable(body)
        await self._edit_tags(user_id, room_id, lambda tags: tags.__setitem__(tag, body))

    async def delete_tag(self, requester: str, user_id: str, room_id: str, tag: str) -> None:
        _own(requester, user_id)
        _check_room_id(room_id)
        await self._edit_tags(user_id, room_id, lambda tags: tags.pop(tag, None))

    async def write(
        self, user_id: str, room_id: str, data_type: str, content: dict[str, Any]
    ) -> None:
        """Store one entry (for services that own a type, e.g. m.fully_read) and wake the user."""
        ensure_storable(content)
        hook = self.global_write_hooks.get(data_type) if room_id == GLOBAL else None
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            await self._store.put(txn, user_id, room_id, data_type, content, pos)
            if hook is not None:
                await hook(txn, user_id, content)
        self.changes.record(user_id, pos)
        self._notifier.notify_users([user_id])

    async def read(self, user_id: str, room_id: str, data_type: str) -> dict[str, Any] | None:
        """An entry as stored, without permission checks (for other services)."""
        return await self._store.get(user_id, room_id, data_type)

    async def _edit_tags(
        self, user_id: str, room_id: str, edit: Callable[[dict[str, Any]], object]
    ) -> None:
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            content = await self._store.get(user_id, room_id, "m.tag", txn) or {}
            tags = content.get("tags")
            tags = dict(tags) if isinstance(tags, dict) else {}
            edit(tags)
            await self._store.put(txn, user_id, room_id, "m.tag", {"tags": tags}, pos)
        self.changes.record(user_id, pos)
        self._notifier.notify_users([user_id])

    # ----------------------------------------------------------------- sync

    async def sync_section(self, ctx: SyncContext) -> bool:
        """Global and per-room account data written since the token (all of it at first)."""
        since = None if ctx.full_state else ctx.since_stream
        if not self.changes.changed_since(ctx.user_id, since):
            return False
        rows = await self._store.changed(ctx.user_id, since, ctx.upto.stream)
        joined = set(ctx.joined_room_ids)
        global_events: list[dict[str, Any]] = []
        found = False
        room_filter = ctx.filter.room
        for row in rows:
            event = {"type": row.type, "content": row.content}
            if row.room_id == GLOBAL:
                if row.type in self.virtual_types or not ctx.filter.account_data.matches(event):
                    continue
                global_events.append(event)
            elif row.room_id in joined and room_filter.matches_room(row.room_id):
                if not room_filter.account_data.matches({**event, "room_id": row.room_id}):
                    continue
                entry = ctx.joined_room(row.room_id).setdefault("account_data", {"events": []})
                entry["events"].append(event)
            else:
                continue
            found = True
        if global_events:
            ctx.response.setdefault("account_data", {"events": []})["events"].extend(global_events)
        return found


def add_global_account_data(ctx: SyncContext, event: dict[str, Any]) -> None:
    """Append a global account data event to the sync response (for other sections)."""
    ctx.response.setdefault("account_data", {"events": []}).setdefault("events", []).append(event)


def ensure_storable(value: Any) -> None:
    """Reject JSON too deeply nested to be stored (orjson stops at 255 levels)."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise bad_json("JSON is nested too deeply") from None


def _own(requester: str, user_id: str) -> None:
    if requester != user_id:
        raise forbidden("You can only access your own account data")


def _check_room_id(room_id: str) -> None:
    if not is_valid_room_id(room_id):
        raise invalid_param("Not a valid room ID")


def _found(content: dict[str, Any] | None) -> dict[str, Any]:
    if content is None:
        raise not_found("No account data of that type")
    return content
