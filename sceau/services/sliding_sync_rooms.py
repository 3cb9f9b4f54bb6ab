"""One room of a Simplified Sliding Sync response, and the list filters.

A room is sent whole (``initial``) the first time a connection sees it, then
only what changed after the position the connection last had it at. The
timeline, state and summary come from :class:`RoomSyncBuilder`, shared with /sync.
"""

from dataclasses import dataclass
from typing import Any

from sceau.services.formatting import EventFormatter
from sceau.services.sliding_sync_request import ListFilters, RoomConfig
from sceau.services.sync_rooms import RoomSyncBuilder
from sceau.services.tokens import position_token
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.state import Membership, StateIds, StateStore
from sceau.streams import ChangeTracker

MEMBER = "m.room.member"


@dataclass(frozen=True)
class RoomInfo:
    """What ordering and filtering need to know of one of the user's rooms."""

    membership: Membership
    bump_stamp: int
    is_dm: bool
    is_encrypted: bool
    room_type: str | None
    #: The room's newest event of any type the user may see: whether anything is new.
    latest: int = 0


def matches_filters(info: RoomInfo, filters: ListFilters) -> bool:
    is_invite = info.membership.membership == "invite"
    checks = [
        (filters.is_dm, info.is_dm),
        (filters.is_encrypted, info.is_encrypted),
        (filters.is_invite, is_invite),
    ]
    if any(wanted is not None and wanted != actual for wanted, actual in checks):
        return False
    if filters.room_types is not None and info.room_type not in filters.room_types:
        return False
    return info.room_type not in filters.not_room_types


def select_state(
    state: StateIds, required: tuple[tuple[str, str], ...], user_id: str, lazy: set[str]
) -> StateIds:
    """The entries of ``state`` that ``required_state`` asks for ('*', '$ME', '$LAZY')."""
    chosen: StateIds = {}
    for (event_type, state_key), event_id in state.items():
        for want_type, want_key in required:
            if want_type not in ("*", event_type):
                continue
            if (
                want_key == "*"
                or want_key == state_key
                or (want_key == "$ME" and state_key == user_id)
                or (want_key == "$LAZY" and event_type == MEMBER and state_key in lazy)
            ):
                chosen[(event_type, state_key)] = event_id
                break
    return chosen


#: The event types that move a room up a list (MSC4186's default bump_event_types).
DEFAULT_BUMP_TYPES: tuple[str, ...] = (
    "m.room.create",
    "m.room.message",
    "m.room.encrypted",
    "m.sticker",
    "m.call.invite",
    "m.poll.start",
    "m.beacon_info",
)


class SlidingRoomBuilder:
    def __init__(
        self,
        *,
        builder: RoomSyncBuilder,
        events: EventStore,
        state: StateStore,
        formatter: EventFormatter,
        room_changes: ChangeTracker | None = None,
    ) -> None:
        self._builder = builder
        self._events = events
        self._state = state
        self._formatter = formatter
        #: Which rooms got events when (fed by the event writer), for recency.
        self._room_changes = room_changes
        #: room -> (newest bump-type event, the position it was read at, the
        #: tracker's floor then): reused while no newer event reached the room.
        self._bumps: dict[str, tuple[int, int, int]] = {}
        #: room -> (its newest event's position, tracker floor when read), for
        #: rooms with no event since the tracker started.
        self._quiet_latest: dict[str, tuple[int, int]] = {}
        #: Room types never change, and encryption is never turned off, so
        #: both are remembered (encryption only once seen).
        self._room_types: dict[str, str | None] = {}
        self._encrypted: set[str] = set()

    async def info(
        self,
        membership: Membership,
        upto: int,
        direct: set[str],
        bump_types: tuple[str, ...] = DEFAULT_BUMP_TYPES,
    ) -> RoomInfo:
        """Recency, DM-ness, encryption and type of one room."""
        room_id = membership.room_id
        if membership.membership != "join":
            # An invitee or knocker sees nothing of the room past their membership.
            bump = latest = membership.stream_pos
        else:
            latest = await self._latest_event(room_id, upto, membership.stream_pos)
            bump = await self._bump_stamp(room_id, upto, membership.stream_pos, bump_types)
        room_type, encrypted = await self._kind(room_id)
        is_dm = room_id in direct
        if not is_dm and membership.membership == "invite":
            invite = await self._events.get_event(membership.event_id)
            is_dm = invite is not None and invite.content.get("is_direct") is True
        return RoomInfo(membership, bump, is_dm, encrypted, room_type, latest)

    async def _latest_event(self, room_id: str, upto: int, joined_at: int) -> int:
        """The position of the room's newest event at or before ``upto``, from the tracker when
        it saw one, else from memory of an earlier read (no query for quiet rooms)."""
        tracker = self._room_changes
        if tracker is not None:
            last = tracker.last_change(room_id)
            if last is not None and last <= upto:
                return last
            quiet = self._quiet_latest.get(room_id)
            if last is None and quiet is not None and quiet[1] == tracker.earliest:
                return quiet[0]
        floor = tracker.earliest if tracker is not None else None
        newest = await self._events.room_events(
            room_id, before=upto + 1, limit=1, newest_first=True
        )
        latest = newest[0].stream_pos if newest else joined_at
        if (
            tracker is not None
            and floor == tracker.earliest
            and tracker.last_change(room_id) is None
        ):
            if len(self._quiet_latest) > 100_000:
                self._quiet_latest.clear()
            self._quiet_latest[room_id] = (latest, tracker.earliest)
        return latest

    async def _bump_stamp(
        self, room_id: str, upto: int, joined_at: int, bump_types: tuple[str, ...]
    ) -> int:
        """The position of the room's newest event of a bump type at or before ``upto``.

        Only the types MSC4186 lists (or the client's ``bump_event_types``) move a
        room up: a join, a topic change or a reaction does not. For the default
        types the answer is remembered per room and reused while the event
        writer's tracker shows no newer event, so a long-poll over a hundred
        quiet rooms costs no query per room.
        """
        cacheable = bump_types == DEFAULT_BUMP_TYPES
        tracker = self._room_changes
        cached = self._bumps.get(room_id) if cacheable else None
        if cached is not None and tracker is not None:
            bump, checked_upto, floor = cached
            last = tracker.last_change(room_id)
            unchanged = last is None and floor == tracker.earliest
            if (unchanged or (last is not None and last <= checked_upto)) and bump <= upto:
                return bump
        floor = tracker.earliest if tracker is not None else None
        newest = await self._events.room_events(
            room_id, before=upto + 1, limit=1, newest_first=True, types=list(bump_types)
        )
        bump = newest[0].stream_pos if newest else joined_at
        if cacheable and tracker is not None and floor == tracker.earliest:
            if len(self._bumps) > 100_000:
                self._bumps.clear()
            self._bumps[room_id] = (bump, upto, floor)
        return bump

    async def _kind(self, room_id: str) -> tuple[str | None, bool]:
        """The room's type (from its create event) and whether it is encrypted."""
        if room_id in self._encrypted:
            return self._room_types.get(room_id), True
        keys = await self._state.current_state_ids(room_id, ["m.room.create", "m.room.encryption"])
        encrypted = ("m.room.encryption", "") in keys
        if room_id not in self._room_types:
            found = await self._events.get_events(keys.values())
            create = found.get(keys.get(("m.room.create", ""), ""))
            value = create.content.get("type") if create is not None else None
            if len(self._room_types) > 100_000:
                self._room_types.clear()
                self._encrypted.clear()
            self._room_types[room_id] = value if isinstance(value, str) else None
        if encrypted:
            self._encrypted.add(room_id)
        return self._room_types[room_id], encrypted

    async def invited_room(self, info: RoomInfo, initial: bool) -> dict[str, Any]:
        """An invited or knocked room: the stripped state its membership event carries."""
        state_key = "knock_state" if info.membership.membership == "knock" else "invite_state"
        room: dict[str, Any] = {
            state_key: await self._builder.stripped_state(info.membership),
            "bump_stamp": info.bump_stamp,
            "is_dm": info.is_dm,
        }
        if initial:
            room["initial"] = True
        for event in room[state_key]:
            if event["type"] == "m.room.name" and isinstance(event["content"].get("name"), str):
                room["name"] = event["content"]["name"]
        return room

    async def joined_room(
        self,
        user_id: str,
        device_id: str,
        info: RoomInfo,
        config: RoomConfig,
        since: int | None,
        upto: int,
    ) -> dict[str, Any]:
        """The room's entry: all of it when ``since`` is None, else what came after ``since``."""
        room_id = info.membership.room_id
        timeline, limited = await self._builder.timeline(
            room_id, since, upto, config.timeline_limit
        )
        state_now = await self._builder.state_at(room_id, upto)
        if since is None:
            delta = state_now
        else:
            before = await self._builder.state_at(room_id, since)
            delta = {key: eid for key, eid in state_now.items() if before.get(key) != eid}
        lazy = {e.sender for e in timeline}
        wanted = select_state(delta, config.required_state, user_id, lazy)
        if since is not None:
            # $LAZY members new to the timeline, even if their membership did not change.
            wanted.update(select_state(state_now, _lazy_only(config), user_id, lazy))
        required = await self._format_state(wanted)
        room: dict[str, Any] = {
            "required_state": required,
            "timeline": await self._formatter.format(timeline, user_id, device_id),
            "limited": limited,
            "num_live": len(timeline) if since is not None else 0,
            "bump_stamp": info.bump_stamp,
            "is_dm": info.is_dm,
        }
        if since is None:
            room["initial"] = True
        if timeline:
            room["prev_batch"] = position_token(timeline[0].stream_pos - 1)
        changed_types = {key[0] for key in delta}
        if since is None or changed_types & {MEMBER, "m.room.name", "m.room.avatar"}:
            await self._add_summary(room, user_id, room_id, state_now)
        return room

    async def _add_summary(
        self, room: dict[str, Any], user_id: str, room_id: str, state: StateIds
    ) -> None:
        """Name, avatar, heroes and member counts (sent at first and when they may change)."""
        summary = await self._builder.summary(user_id, room_id)
        room["joined_count"] = summary["m.joined_member_count"]
        room["invited_count"] = summary["m.invited_member_count"]
        ids = [state[k] for k in (("m.room.name", ""), ("m.room.avatar", "")) if k in state]
        heroes = summary.get("m.heroes", [])
        ids += [state[(MEMBER, h)] for h in heroes if (MEMBER, h) in state]
        found = await self._events.get_events(ids)
        by_key = {(e.type, e.state_key): e for e in found.values()}
        name = by_key.get(("m.room.name", ""))
        if name is not None and isinstance(name.content.get("name"), str):
            room["name"] = name.content["name"]
        avatar = by_key.get(("m.room.avatar", ""))
        if avatar is not None and isinstance(avatar.content.get("url"), str):
            room["avatar"] = avatar.content["url"]
        if heroes:
            room["heroes"] = [_hero(h, by_key.get((MEMBER, h))) for h in heroes]

    async def _format_state(self, wanted: StateIds) -> list[dict[str, Any]]:
        found = await self._events.get_events(wanted.values())
        ordered = sorted(found.values(), key=lambda e: e.stream_pos)
        return await self._formatter.format(ordered, bundle_relations=False)


def _lazy_only(config: RoomConfig) -> tuple[tuple[str, str], ...]:
    return tuple(pair for pair in config.required_state if pair[1] == "$LAZY")


def _hero(user_id: str, member: StoredEvent | None) -> dict[str, Any]:
    hero: dict[str, Any] = {"user_id": user_id}
    if member is not None:
        for field_name in ("displayname", "avatar_url"):
            value = member.content.get(field_name)
            if isinstance(value, str):
                hero[field_name] = value
    return hero
