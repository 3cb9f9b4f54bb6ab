"""Simplified Sliding Sync (MSC4186): the rooms a client's lists show, and what changed.

Each connection (user, device, conn_id) remembers, per position it handed
out, which rooms it sent and up to which stream position, so a request with
``pos`` sends only rooms with news (whole, with ``initial``, if new to the
connection). Extensions reuse the /sync sections on a :class:`SyncContext`.
State lives in memory, bounded: an unknown ``pos`` is M_UNKNOWN_POS and the
client starts over.
"""

import asyncio
import itertools
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sceau.clock import Clock
from sceau.errors import MatrixError
from sceau.notifier import Notifier
from sceau.protocol.filters import Filter
from sceau.services.account_data import AccountDataService
from sceau.services.sliding_sync_request import ExtensionScope, RoomConfig, SlidingSyncRequest
from sceau.services.sliding_sync_rooms import RoomInfo, SlidingRoomBuilder, matches_filters
from sceau.services.sync import SyncContext, SyncSection, SyncService
from sceau.services.tokens import SyncToken
from sceau.storage.state import Membership, StateStore
from sceau.streams import ChangeTracker

MAX_CONNECTIONS = 10_000
#: Positions kept per connection (a client may retry its previous request).
POSITIONS_KEPT = 3


#: Memberships whose rooms appear in lists (left rooms are sent once more, then dropped).
LISTED = ("join", "invite", "knock")


@dataclass(frozen=True)
class Snapshot:
    token: SyncToken
    #: room ID -> (membership, stream position the client has it up to)
    sent: dict[str, tuple[str, int]]
    #: room ID -> the required state and timeline it was last sent with
    configs: dict[str, RoomConfig] = field(default_factory=dict)


@dataclass
class ExtensionSections:
    to_device: list[SyncSection] = field(default_factory=list)
    e2ee: list[SyncSection] = field(default_factory=list)
    account_data: list[SyncSection] = field(default_factory=list)
    receipts: list[SyncSection] = field(default_factory=list)
    typing: list[SyncSection] = field(default_factory=list)
    unread: list[SyncSection] = field(default_factory=list)


def unknown_pos() -> MatrixError:
    return MatrixError(400, "M_UNKNOWN_POS", "Unknown position: start a new connection")


class SlidingSyncService:
    def __init__(
        self,
        *,
        clock: Clock,
        notifier: Notifier,
        sync: SyncService,
        state: StateStore,
        rooms: SlidingRoomBuilder,
        account_data: AccountDataService,
        max_timeout_ms: int,
        receipt_changes: ChangeTracker | None = None,
    ) -> None:
        self._clock = clock
        #: Rooms whose receipts changed when: a read receipt changes the
        #: reader's unread counts without any new event in the room.
        self._receipt_changes = receipt_changes
        self._notifier = notifier
        self._sync = sync
        self._state = state
        self._rooms = rooms
        self._account_data = account_data
        self._max_timeout_ms = max_timeout_ms
        self._connections: OrderedDict[tuple[str, str, str], OrderedDict[str, Snapshot]] = (
            OrderedDict()
        )
        self._serial = itertools.count(1)
        self.sections = ExtensionSections()

    async def sync(
        self,
        user_id: str,
        device_id: str,
        req: SlidingSyncRequest,
        pos: str | None,
        timeout_ms: int,
    ) -> dict[str, Any]:
        key = (user_id, device_id, req.conn_id or "")
        previous: Snapshot | None = None
        if pos is not None:
            previous = self._connections.get(key, OrderedDict()).get(pos)
            if previous is None:
                raise unknown_pos()
        deadline = self._clock.monotonic() + min(timeout_ms, self._max_timeout_ms) / 1000.0
        while True:
            memberships = await self._state.rooms_for_user(user_id)
            watched = [m.room_id for m in memberships if m.membership in LISTED]
            waiter = self._notifier.register(user_id, watched)
            try:
                response, snapshot, found = await self._compute(
                    user_id, device_id, req, previous, memberships
                )
                remaining = deadline - self._clock.monotonic()
                if found or previous is None or remaining <= 0:
                    break
                if not await waiter.wait(remaining):
                    break
            finally:
                self._notifier.unregister(waiter)
            await asyncio.sleep(0)
        response["pos"] = self._remember(key, snapshot)
        return response

    def _remember(self, key: tuple[str, str, str], snapshot: Snapshot) -> str:
        positions = self._connections.setdefault(key, OrderedDict())
        self._connections.move_to_end(key)
        pos = str(next(self._serial))
        positions[pos] = snapshot
        while len(positions) > POSITIONS_KEPT:
            positions.popitem(last=False)
        while len(self._connections) > MAX_CONNECTIONS:
            self._connections.popitem(last=False)
        return pos

    async def _compute(
        self,
        user_id: str,
        device_id: str,
        req: SlidingSyncRequest,
        previous: Snapshot | None,
        all_memberships: list[Membership],
    ) -> tuple[dict[str, Any], Snapshot, bool]:
        upto = self._sync.current_token()
        memberships = [
            m for m in all_memberships if m.membership in LISTED and m.stream_pos <= upto.stream
        ]
        direct = await self._direct_rooms(user_id)
        infos = {m.room_id: await self._rooms.info(m, upto.stream, direct) for m in memberships}
        by_recency = sorted(infos.values(), key=lambda i: i.bump_stamp, reverse=True)
        configs: dict[str, RoomConfig] = {}
        in_list: dict[str, list[str]] = {}
        placed: dict[str, RoomInfo] = {}
        lists: dict[str, Any] = {}
        for name, wanted in req.lists.items():
            ordered = by_recency
            if wanted.bump_event_types is not None:
                ordered = await self._ordered_by(memberships, upto, direct, wanted.bump_event_types)
            matching = [i for i in ordered if matches_filters(i, wanted.filters)]
            lists[name] = {"count": len(matching)}
            for start, end in wanted.ranges:
                for info in matching[start : end + 1]:
                    room_id = info.membership.room_id
                    # A list with its own bump_event_types sends its own bump_stamp.
                    placed.setdefault(room_id, info)
                    configs[room_id] = configs.get(room_id, RoomConfig()).merge(wanted.config)
                    in_list.setdefault(room_id, []).append(name)
        for room_id, config in req.subscriptions.items():
            if room_id in infos:
                configs[room_id] = configs.get(room_id, RoomConfig()).merge(config)
        sent = dict(previous.sent) if previous is not None else {}
        sent_configs = dict(previous.configs) if previous is not None else {}
        rooms: dict[str, Any] = {}
        initial_rooms: list[str] = []
        for room_id, config in configs.items():
            info = placed.get(room_id, infos[room_id])
            had = sent.get(room_id)
            earlier = sent_configs.get(room_id)
            if had is not None and earlier is not None and config.widens(earlier):
                had = None  # more timeline or state asked for: the room is sent afresh
            entry = await self._room(user_id, device_id, info, config, had, upto)
            sent_configs[room_id] = config
            if entry is not None:
                rooms[room_id] = entry
                if entry.get("initial"):
                    initial_rooms.append(room_id)
            sent[room_id] = (info.membership.membership, upto.stream)
        await self._add_departures(user_id, device_id, req, all_memberships, sent, rooms, upto)
        await self._add_counts(user_id, device_id, upto, rooms)
        response: dict[str, Any] = {"lists": lists, "rooms": rooms}
        joined = [m.room_id for m in memberships if m.membership == "join"]
        ext_found = await self._extensions(
            user_id, device_id, req, previous, upto, joined, list(configs), in_list, initial_rooms
        )
        response["extensions"] = ext_found[0]
        return response, Snapshot(upto, sent, sent_configs), bool(rooms) or ext_found[1]

    async def _ordered_by(
        self,
        memberships: list[Membership],
        upto: SyncToken,
        direct: set[str],
        bump_types: tuple[str, ...],
    ) -> list[RoomInfo]:
        """The rooms by recency of a list's own ``bump_event_types``."""
        infos = [await self._rooms.info(m, upto.stream, direct, bump_types) for m in memberships]
        return sorted(infos, key=lambda i: i.bump_stamp, reverse=True)

    async def _room(
        self,
        user_id: str,
        device_id: str,
        info: RoomInfo,
        config: RoomConfig,
        had: tuple[str, int] | None,
        upto: SyncToken,
    ) -> dict[str, Any] | None:
        membership = info.membership.membership
        fresh = had is None or had[0] != membership
        nothing_new = not fresh and had is not None and info.latest <= had[1]
        if nothing_new and (membership != "join" or not self._counts_changed(info, had)):
            return None
        if membership in ("invite", "knock"):
            return await self._rooms.invited_room(info, fresh)
        since = None if fresh or had is None else had[1]
        return await self._rooms.joined_room(user_id, device_id, info, config, since, upto.stream)

    def _counts_changed(self, info: RoomInfo, had: tuple[str, int] | None) -> bool:
        """Whether a receipt since the room was last sent may have changed its counts."""
        tracker = self._receipt_changes
        if tracker is None or had is None:
            return False
        return tracker.changed_since(info.membership.room_id, had[1])

    async def _add_departures(
        self,
        user_id: str,
        device_id: str,
        req: SlidingSyncRequest,
        memberships: list[Membership],
        sent: dict[str, tuple[str, int]],
        rooms: dict[str, Any],
        upto: SyncToken,
    ) -> None:
        """Rooms this connection had that the user has left, was kicked or banned from.

        Each is sent once more, up to and including the membership change, so
        the client sees the leave and drops the room; then it is forgotten.
        A rejected invite, or a knock refused or withdrawn, shows only the
        leave (the room stays unseen).
        """
        limit = max([1, *(wanted.config.timeline_limit for wanted in req.lists.values())])
        config = RoomConfig(required_state=(("m.room.member", "$ME"),), timeline_limit=limit)
        for membership in memberships:
            had = sent.get(membership.room_id)
            if (
                had is None
                or had[0] not in LISTED
                or membership.membership not in ("leave", "ban")
                or membership.stream_pos > upto.stream
            ):
                continue
            since = had[1] if had[0] == "join" else membership.stream_pos - 1
            info = await self._rooms.info(membership, membership.stream_pos, set())
            rooms[membership.room_id] = await self._rooms.joined_room(
                user_id, device_id, info, config, since, membership.stream_pos
            )
            del sent[membership.room_id]

    async def _add_counts(
        self, user_id: str, device_id: str, upto: SyncToken, rooms: dict[str, Any]
    ) -> None:
        """notification_count and highlight_count, from the /sync unread section."""
        joined = [r for r, entry in rooms.items() if "invite_state" not in entry]
        if not joined:
            return
        ctx = SyncContext(user_id, device_id, None, upto, False, Filter())
        for room_id in joined:
            ctx.joined_room(room_id)
        for section in self.sections.unread:
            await section(ctx)
        for room_id, entry in ctx.response["rooms"]["join"].items():
            counts = entry.get("unread_notifications", {})
            rooms[room_id]["notification_count"] = counts.get("notification_count", 0)
            rooms[room_id]["highlight_count"] = counts.get("highlight_count", 0)

    async def _direct_rooms(self, user_id: str) -> set[str]:
        content = await self._account_data.read(user_id, "", "m.direct") or {}
        return {
            room_id
            for rooms in content.values()
            if isinstance(rooms, list)
            for room_id in rooms
            if isinstance(room_id, str)
        }

    async def _extensions(
        self,
        user_id: str,
        device_id: str,
        req: SlidingSyncRequest,
        previous: Snapshot | None,
        upto: SyncToken,
        joined: list[str],
        window: list[str],
        in_list: dict[str, list[str]],
        initial_rooms: list[str],
    ) -> tuple[dict[str, Any], bool]:
        ext = req.extensions
        since = previous.token if previous is not None else None
        result: dict[str, Any] = {}
        found = False

        def context(since_token: SyncToken | None, rooms: list[str]) -> SyncContext:
            ctx = SyncContext(user_id, device_id, since_token, upto, False, Filter())
            ctx.joined_room_ids = rooms
            return ctx

        if ext.to_device:
            device_since = None if ext.to_device_since is None else SyncToken(ext.to_device_since)
            ctx = await _run(self.sections.to_device, context(device_since, joined))
            events = ctx.response.get("to_device", {}).get("events", [])
            result["to_device"] = {"next_batch": str(upto.stream), "events": events}
            found = found or bool(events)
        if ext.e2ee:
            ctx = await _run(self.sections.e2ee, context(since, joined))
            lists = ctx.response.get("device_lists", {"changed": [], "left": []})
            result["e2ee"] = {
                "device_lists": lists,
                "device_one_time_keys_count": ctx.response.get("device_one_time_keys_count", {}),
                "device_unused_fallback_key_types": ctx.response.get(
                    "device_unused_fallback_key_types", []
                ),
            }
            found = found or bool(lists.get("changed") or lists.get("left"))
        if ext.account_data is not None:
            rooms = _scoped(ext.account_data, window, in_list, joined)
            ctx = await self._room_pass(
                self.sections.account_data, context, since, rooms, initial_rooms
            )
            global_events = ctx.response.get("account_data", {}).get("events", [])
            per_room = _per_room(ctx, "account_data")
            result["account_data"] = {"global": global_events, "rooms": per_room}
            found = found or bool(global_events or per_room)
        for name, scope, sections in (
            ("receipts", ext.receipts, self.sections.receipts),
            ("typing", ext.typing, self.sections.typing),
        ):
            if scope is None:
                continue
            rooms = _scoped(scope, window, in_list, joined)
            ctx = await self._room_pass(sections, context, since, rooms, initial_rooms)
            events = _per_room(ctx, "ephemeral")
            result[name] = {"rooms": {r: evs[0] for r, evs in events.items() if evs}}
            found = found or bool(events)
        return result, found

    async def _room_pass(
        self,
        sections: list[SyncSection],
        context: Any,
        since: SyncToken | None,
        rooms: list[str],
        initial_rooms: list[str],
    ) -> SyncContext:
        """Run the sections since the connection's token; rooms new to it get everything."""
        ctx: SyncContext = await _run(sections, context(since, rooms))
        fresh = [r for r in initial_rooms if r in rooms]
        if since is not None and fresh:
            first = await _run(sections, context(None, fresh))
            for room_id, entry in first.response.get("rooms", {}).get("join", {}).items():
                ctx.joined_room(room_id).update(entry)
        return ctx


async def _run(sections: list[SyncSection], ctx: SyncContext) -> SyncContext:
    for section in sections:
        await section(ctx)
    return ctx


def _scoped(
    scope: ExtensionScope, window: list[str], in_list: dict[str, list[str]], joined: list[str]
) -> list[str]:
    """Joined rooms of the window that the extension's lists/rooms name ('*': all)."""
    chosen = set()
    for room_id in window:
        if (
            "*" in scope.rooms
            or room_id in scope.rooms
            or any(name in scope.lists or "*" in scope.lists for name in in_list.get(room_id, []))
        ):
            chosen.add(room_id)
    return [r for r in joined if r in chosen]


def _per_room(ctx: SyncContext, part: str) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for room_id, entry in ctx.response.get("rooms", {}).get("join", {}).items():
        events = entry.get(part, {}).get("events", [])
        if events:
            found[room_id] = events
    return found
