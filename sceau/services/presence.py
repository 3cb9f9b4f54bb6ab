"""Presence: online, unavailable or offline, with a status message.

A user's state is written (with a stream position, waking the users who share
a room with them) only when what others see changes: the state, or the status
message. Activity in between is kept in memory, and ``last_active_ago`` and
``currently_active`` are computed when read, so a user who keeps syncing costs
no writes. A user who stops syncing is shown offline after
``IDLE_OFFLINE_MS``, lazily, when read; their next sync writes them online.
"""

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.clock import Clock
from sceau.errors import bad_json, forbidden, invalid_param
from sceau.notifier import Notifier
from sceau.services.sync import SyncContext
from sceau.storage.database import Database
from sceau.storage.presence import PresenceRow, PresenceStore
from sceau.storage.state import StateStore
from sceau.streams import ChangeTracker, StreamIdGenerator

STATES = ("online", "unavailable", "offline")
#: Activity this recent counts as "currently active".
ACTIVE_WINDOW_MS = 60_000
#: Without a sync or presence update for this long, a user is offline.
IDLE_OFFLINE_MS = 5 * 60_000
MAX_STATUS_BYTES = 1024


ROW_CACHE_SIZE = 100_000


class PresenceService:
    def __init__(
        self,
        *,
        enabled: bool,
        clock: Clock,
        db: Database,
        stream: StreamIdGenerator,
        notifier: Notifier,
        store: PresenceStore,
        state: StateStore,
    ) -> None:
        self.enabled = enabled
        self._clock = clock
        self._db = db
        self._stream = stream
        self._notifier = notifier
        self._store = store
        self._state = state
        #: user -> last time they synced or set their presence (not persisted).
        self._last_seen: dict[str, int] = {}
        #: Told (user ID, time) whenever a user is seen without a write (other processes).
        self.on_seen: Callable[[str, int], None] | None = None
        #: Users whose presence changed, by position (fed by _update).
        self.changes = ChangeTracker(stream.current())
        #: Presence rows as last written or read, bounded; only _update writes them.
        self._rows: OrderedDict[str, PresenceRow | None] = OrderedDict()
        #: Called with (user ID, presence content) after each change is written (federation).
        self.changed_hooks: list[Callable[[str, dict[str, Any]], Awaitable[None]]] = []

    async def set_status(
        self, requester: str, user_id: str, presence: Any, status_msg: Any
    ) -> None:
        """PUT /presence/{userId}/status"""
        if requester != user_id:
            raise forbidden("You can only set your own presence")
        if not isinstance(presence, str):
            raise bad_json("'presence' must be a string")
        if presence not in STATES:
            raise invalid_param("'presence' must be online, unavailable or offline")
        if status_msg is not None and not isinstance(status_msg, str):
            raise bad_json("'status_msg' must be a string")
        if status_msg is not None and len(status_msg.encode()) > MAX_STATUS_BYTES:
            raise invalid_param("'status_msg' is too long")
        if not self.enabled:
            return
        await self._update(user_id, presence, status_msg, keep_status=False)

    async def get_status(self, requester: str, user_id: str) -> dict[str, Any]:
        """GET /presence/{userId}/status"""
        if not self.enabled:
            return {"presence": "offline"}
        if requester != user_id and user_id not in await self._state.users_sharing_rooms(requester):
            raise forbidden("You do not share a room with this user")
        row = await self._row(user_id)
        if row is None:
            return {"presence": "offline"}
        return self._content(row)

    async def on_sync(self, user_id: str, device_id: str, set_presence: str | None) -> None:
        """Start hook of /sync: syncing marks the user online unless they say otherwise."""
        if not self.enabled or set_presence == "offline":
            return
        await self._update(user_id, set_presence or "online", None, keep_status=True)

    async def sync_section(self, ctx: SyncContext) -> bool:
        """m.presence of everyone sharing a room with the user, changed since the token."""
        if not self.enabled or ctx.filter.presence.excludes_everything():
            return False
        since = None if ctx.full_state else ctx.since_stream
        if since is None:
            users = sorted(await self._state.users_sharing_rooms(ctx.user_id) | {ctx.user_id})
            rows = await self._store.for_users(users, None, ctx.upto.stream)
        else:
            rows = await self._incremental_rows(ctx, since)
        events = [
            {"type": "m.presence", "sender": row.user_id, "content": self._content(row)}
            for row in sorted(rows, key=lambda r: r.stream_pos)
        ]
        events = [e for e in events if ctx.filter.presence.matches(e)]
        if not events:
            return False
        ctx.response["presence"] = {"events": events}
        return True

    async def _incremental_rows(self, ctx: SyncContext, since: int) -> list[PresenceRow]:
        """Changes since the token of the user's room-mates, and room-mates who just joined.

        Most syncs find no presence change at all, so the (costlier) set of
        room-mates is only computed when something changed.
        """
        rows = (
            await self._store.changed(since, ctx.upto.stream)
            if self.changes.any_changed_since(since)
            else []
        )
        if rows:
            mates = await self._state.users_sharing_rooms(ctx.user_id) | {ctx.user_id}
            rows = [row for row in rows if row.user_id in mates]
        # People who just started sharing a room with the user: send their
        # current presence even though it did not change.
        sent = {row.user_id for row in rows}
        newcomers = sorted(_joined_in_response(ctx) - sent - {""})
        if newcomers:
            rows += await self._store.for_users(newcomers, None, ctx.upto.stream)
        return rows

    async def apply_remote(self, user_id: str, state: str, status_msg: str | None) -> None:
        """Presence of a remote user, as its server pushed it (``m.presence``)."""
        if self.enabled and state in STATES:
            await self._update(user_id, state, status_msg, keep_status=False)

    async def user_deactivated(self, user_id: str) -> None:
        """Account hook: a deactivated user goes offline for good."""
        if self.enabled:
            await self._update(user_id, "offline", None, keep_status=False)

    # -------------------------------------------------------------- internals

    async def _row(self, user_id: str) -> PresenceRow | None:
        if user_id in self._rows:
            self._rows.move_to_end(user_id)
            return self._rows[user_id]
        row = await self._store.get(user_id)
        if user_id in self._rows:
            return self._rows[user_id]  # a write landed while we read: it wins
        self._remember(user_id, row)
        return row

    def seen_elsewhere(self, user_id: str, when_ms: int) -> None:
        """Another process saw the user active (its syncs go there)."""
        self._last_seen[user_id] = max(self._last_seen.get(user_id, 0), when_ms)

    def forget_row(self, user_id: str | None) -> None:
        """Another process changed this user's presence (None: any user's)."""
        if user_id is None:
            self._rows.clear()
        else:
            self._rows.pop(user_id, None)

    def _remember(self, user_id: str, row: PresenceRow | None) -> None:
        self._rows[user_id] = row
        self._rows.move_to_end(user_id)
        while len(self._rows) > ROW_CACHE_SIZE:
            self._rows.popitem(last=False)

    def _effective_state(self, row: PresenceRow, now: int) -> str:
        if row.state == "offline":
            return "offline"
        seen = max(self._last_seen.get(row.user_id, 0), row.last_active_ts)
        return "offline" if now - seen > IDLE_OFFLINE_MS else row.state

    def _content(self, row: PresenceRow) -> dict[str, Any]:
        now = self._clock.time_ms()
        state = self._effective_state(row, now)
        last_active = max(self._last_seen.get(row.user_id, 0), row.last_active_ts)
        content: dict[str, Any] = {
            "presence": state,
            "last_active_ago": max(0, now - last_active),
            "currently_active": state == "online" and now - last_active <= ACTIVE_WINDOW_MS,
        }
        if row.status_msg is not None:
            content["status_msg"] = row.status_msg
        return content

    async def _update(
        self, user_id: str, state: str, status_msg: str | None, keep_status: bool
    ) -> None:
        """Record activity; write (and wake others) only if what they see changes."""
        now = self._clock.time_ms()
        row = await self._row(user_id)
        if keep_status and row is not None:
            status_msg = row.status_msg
        if row is not None:
            shown = self._effective_state(row, now)
            if shown == state and row.status_msg == status_msg:
                if state != "offline":
                    self._last_seen[user_id] = now
                    if self.on_seen is not None:
                        self.on_seen(user_id, now)
                return
        if state != "offline":
            self._last_seen[user_id] = now
        async with self._stream.next_position() as pos, self._db.transaction() as txn:
            new_row = PresenceRow(user_id, state, status_msg, now, pos)
            await self._store.put(txn, new_row)
        self._remember(user_id, new_row)
        self.changes.record(user_id, pos)
        self._notifier.notify_users(await self._state.users_sharing_rooms(user_id) | {user_id})
        for hook in self.changed_hooks:
            await hook(user_id, self._content(new_row))


def _joined_in_response(ctx: SyncContext) -> set[str]:
    """Users whose join appears in this response's rooms (new members, or rooms just joined)."""
    joined: set[str] = set()
    for room in ctx.response.get("rooms", {}).get("join", {}).values():
        for part in ("state", "timeline"):
            for event in room.get(part, {}).get("events", []):
                content = event.get("content")
                if (
                    event.get("type") == "m.room.member"
                    and isinstance(content, dict)
                    and content.get("membership") == "join"
                ):
                    joined.add(event.get("state_key", ""))
    return joined
