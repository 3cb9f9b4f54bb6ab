"""The ``rooms`` part of /sync: timelines, state, invites, knocks and leaves.

For each room that changed since the client's token this builds the
timeline (newest events, ``limited`` when some were skipped), the state the
client is missing before that timeline, and the room summary. Reads are
batched per room; room state comes from immutable, cached state groups.
"""

from dataclasses import dataclass
from typing import Any

from sceau.protocol.filters import Filter, RoomEventFilter, RoomFilter
from sceau.services.formatting import EventFormatter
from sceau.services.recent_events import RecentEvents
from sceau.services.room_state import RoomStateService
from sceau.services.sync_initial import NAME_TYPES, InitialRooms
from sceau.services.sync_lazy_members import LazyMembersSent
from sceau.services.sync_shared import SharedComputations, SharedRoom, SharedState, SharedSummary
from sceau.services.tokens import position_token
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.rooms import RoomStore
from sceau.storage.state import Membership, StateIds, StateStore
from sceau.streams import ChangeTracker


def _stripped(pdu: dict[str, Any]) -> dict[str, Any]:
    return {k: pdu[k] for k in ("type", "state_key", "content", "sender") if k in pdu}


#: State events shown to invitees and knockers before they join.
STRIPPED_STATE_TYPES = (
    "m.room.create",
    "m.room.join_rules",
    "m.room.name",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.encryption",
    "m.room.topic",
)


@dataclass(frozen=True)
class RoomSyncRequest:
    user_id: str
    device_id: str
    since: int | None
    upto: int
    full_state: bool
    filter: Filter


class RoomSyncBuilder:
    def __init__(
        self,
        *,
        events: EventStore,
        state: StateStore,
        rooms: RoomStore,
        room_state: RoomStateService,
        formatter: EventFormatter,
        room_changes: ChangeTracker,
        recent: RecentEvents | None = None,
        shared: SharedComputations[SharedRoom] | None = None,
        lazy_members: LazyMembersSent | None = None,
    ) -> None:
        self._room_changes = room_changes
        #: Member events each device already holds (``include_redundant_members`` false).
        self.lazy_members = lazy_members if lazy_members is not None else LazyMembersSent()
        #: Incremental room entries computed once for all syncs woken alike.
        self.shared = shared if shared is not None else SharedComputations()
        #: Room summaries, once per (room, position): syncs that fell behind hold
        #: different tokens, so their room entries differ, but their summaries do not.
        self.summaries: SharedComputations[SharedSummary] = SharedComputations(size=256)
        self._recent = recent if recent is not None else RecentEvents(max_rooms=0)
        self._events = events
        self._state = state
        self._rooms = rooms
        self._room_state = room_state
        self._formatter = formatter
        self._initial = InitialRooms(events=events, state=state, formatter=formatter)

    async def build(
        self, req: RoomSyncRequest, memberships: list[Membership]
    ) -> dict[str, dict[str, Any]]:
        """{"join": {...}, "invite": {...}, "leave": {...}, "knock": {...}} (empty parts omitted later)."""
        room_filter = req.filter.room
        # Only rooms one has left can be forgotten: most users have none to look up.
        has_left = any(m.membership in ("leave", "ban") for m in memberships)
        forgotten = await self._rooms.forgotten_rooms(req.user_id) if has_left else set()
        visible = [
            m
            for m in memberships
            if room_filter.matches_room(m.room_id) and m.room_id not in forgotten
        ]
        joined_ids = [m.room_id for m in visible if m.membership == "join"]
        active: set[str]
        if req.since is None or req.full_state:
            active = set(joined_ids)
        else:
            # The tracker names the rooms with events after the token; a room
            # whose events all lie past ``upto`` comes back empty and is dropped.
            active = {r for r in joined_ids if self._room_changes.changed_since(r, req.since)}
            if active and req.since < self._room_changes.earliest:
                # A token from before this process started: one query sorts it out.
                active = await self._events.rooms_with_events_between(
                    list(active), req.since, req.upto
                )
        result: dict[str, dict[str, Any]] = {"join": {}, "invite": {}, "leave": {}, "knock": {}}
        batched: dict[str, dict[str, Any]] = {}
        if req.since is None:
            # An initial sync: every joined room at once, in a few batched reads.
            batched = await self._initial.joined(
                req.user_id,
                req.device_id,
                req.upto,
                req.filter,
                [m.room_id for m in visible if m.membership == "join" and m.stream_pos <= req.upto],
            )
        for membership in visible:
            changed = req.since is None or membership.stream_pos > req.since
            if membership.stream_pos > req.upto:
                continue
            if membership.membership == "join" and (
                membership.room_id in active or (changed and req.since is not None)
            ):
                newly_joined = req.since is not None and membership.stream_pos > req.since
                entry = batched.get(membership.room_id) or await self._joined_room(
                    req, membership.room_id, newly_joined
                )
                if entry is not None:
                    result["join"][membership.room_id] = entry
            elif membership.membership == "invite" and changed:
                result["invite"][membership.room_id] = {
                    "invite_state": {"events": await self._stripped_state(membership)}
                }
            elif membership.membership == "knock" and changed:
                result["knock"][membership.room_id] = {
                    "knock_state": {"events": await self._stripped_state(membership)}
                }
            elif membership.membership in ("leave", "ban") and changed:
                if req.since is None and not room_filter.include_leave:
                    continue
                result["leave"][membership.room_id] = await self._left_room(req, membership)
        state_filter = room_filter.state
        if state_filter.lazy_load_members and not state_filter.include_redundant_members:
            new_sequence = req.since is None or req.full_state
            self.lazy_members.trim_and_note(
                req.user_id,
                req.device_id,
                None if new_sequence else req.since,
                req.upto,
                result["join"],
            )
        return result

    async def _joined_room(
        self, req: RoomSyncRequest, room_id: str, newly_joined: bool
    ) -> dict[str, Any] | None:
        """The room's entry, or None when an incremental sync finds nothing new in it."""
        if not (req.since is None or req.full_state or newly_joined):
            return await self._incremental_room(req, room_id)
        # An initial sync of this room: its newest events and all its state.
        timeline_filter = req.filter.room.timeline
        timeline, limited = await self._timeline(
            room_id, None, req.upto + 1, timeline_filter.limit_or(10), timeline_filter
        )
        if newly_joined:
            timeline = await self._room_state.filter_visible(req.user_id, timeline)
        state_ids = await self._state_delta(room_id, timeline, None, True, req.upto)
        state_events = await self._state_events(req, state_ids, timeline)
        formatted_timeline = await self._formatter.format(timeline, req.user_id, req.device_id)
        room: dict[str, Any] = {
            "timeline": {"events": formatted_timeline, "limited": limited},
            "state": {"events": state_events},
            "summary": await self._summary(req.user_id, room_id),
        }
        if timeline:
            room["timeline"]["prev_batch"] = position_token(timeline[0].stream_pos - 1)
        return room

    async def _incremental_room(self, req: RoomSyncRequest, room_id: str) -> dict[str, Any] | None:
        """A joined room's changes since the token: shared work, then this user's parts."""
        assert req.since is not None
        room_filter = req.filter.room
        key = (room_id, req.since, req.upto, room_filter.timeline, room_filter.state)
        shared = await self.shared.get(
            key, lambda: self._shared_room(room_id, req.since or 0, req.upto, room_filter)
        )
        if shared.empty:
            return None
        events = await self._formatter.personalise(
            shared.formatted, shared.timeline, req.user_id, req.device_id
        )
        room: dict[str, Any] = {
            "timeline": {"events": events, "limited": shared.limited},
            "state": {
                "events": [
                    s.formatted
                    for s in shared.state
                    if s.only_for is None or s.only_for == req.user_id
                ]
            },
        }
        if shared.summary is not None:
            room["summary"] = shared.summary.for_user(req.user_id)
        if shared.prev_batch is not None:
            room["timeline"]["prev_batch"] = shared.prev_batch
        return room

    async def _shared_room(
        self, room_id: str, since: int, upto: int, room_filter: RoomFilter
    ) -> SharedRoom:
        """What every user syncing this room from ``since`` to ``upto`` alike receives."""
        timeline, limited = await self._timeline(
            room_id, since, upto + 1, room_filter.timeline.limit_or(10), room_filter.timeline
        )
        if not timeline and not limited:
            return SharedRoom([], False, [])
        if limited:
            state_ids = await self._state_delta(room_id, timeline, since, False, upto)
        else:
            # The timeline starts right after the token: every state change is in it.
            state_ids = {}
        state = await self._shared_state(room_filter.state, state_ids, timeline, limited)
        membership_changed = any(e.type == "m.room.member" for e in timeline)
        summary = None
        if limited or membership_changed:
            summary = await self.summaries.get(
                (room_id, upto), lambda: self._shared_summary(room_id)
            )
        prev_batch = position_token(timeline[0].stream_pos - 1 if timeline else upto)
        formatted = await self._formatter.format(timeline)
        return SharedRoom(timeline, limited, formatted, state, summary, prev_batch)

    async def _shared_state(
        self,
        state_filter: RoomEventFilter,
        state_ids: StateIds,
        timeline: list[StoredEvent],
        limited: bool,
    ) -> list[SharedState]:
        """The state section for everyone; with lazy members, each user's own member event is theirs only.

        With lazy-loaded members a limited timeline carries the members of its
        senders as they were where it starts, changed since the token or not
        (the client may never have been sent them), and no other member but the
        syncing user's own when it changed.
        """
        only_for: dict[str, str] = {}
        if state_filter.lazy_load_members:
            senders = {e.sender for e in timeline}
            kept = {
                k: v for k, v in state_ids.items() if k[0] != "m.room.member" or k[1] in senders
            }
            only_for = {
                eid: k[1]
                for k, eid in state_ids.items()
                if k[0] == "m.room.member" and k[1] not in senders
            }
            if limited and timeline:
                at_start = await self._state.get_state_ids(timeline[0].state_group)
                for sender in senders:
                    member = at_start.get(("m.room.member", sender))
                    if member is not None:
                        kept[("m.room.member", sender)] = member
            state_ids = {**kept, **{("m.room.member", u): eid for eid, u in only_for.items()}}
        in_timeline = {e.event_id for e in timeline}
        ids = [eid for eid in state_ids.values() if eid not in in_timeline]
        found = await self._events.get_events(ids)
        chosen = [
            e
            for e in sorted(found.values(), key=lambda e: e.stream_pos)
            if state_filter.matches(e.pdu)
        ]
        formatted = await self._formatter.format(chosen, bundle_relations=False)
        return [
            SharedState(body, only_for.get(event.event_id))
            for event, body in zip(chosen, formatted, strict=True)
        ]

    async def _shared_summary(self, room_id: str) -> SharedSummary:
        """Counts and hero candidates from current state's membership column (no event read)."""
        members = (await self._state.members_in_rooms([room_id]))[room_id]
        joined = [user for user, membership in members if membership == "join"]
        invited = [user for user, membership in members if membership == "invite"]
        names = await self._state.current_state_ids(room_id, NAME_TYPES)
        heroes = None
        if not names:
            heroes = tuple(sorted(u for u in [*joined, *invited] if u)[:6])
        return SharedSummary(len(joined), len(invited), heroes)

    # --- shared with Simplified Sliding Sync (sceau.services.sliding_sync_rooms) ---

    async def timeline(
        self, room_id: str, since: int | None, upto: int, limit: int
    ) -> tuple[list[StoredEvent], bool]:
        """The newest ``limit`` events after ``since`` up to ``upto``, and whether some were skipped."""
        return await self._timeline(room_id, since, upto + 1, limit, RoomEventFilter())

    async def state_at(self, room_id: str, position: int) -> StateIds:
        """The room's state just after stream position ``position``."""
        return await self._state_at(room_id, position)

    async def summary(self, user_id: str, room_id: str) -> dict[str, Any]:
        return await self._summary(user_id, room_id)

    async def stripped_state(self, membership: Membership) -> list[dict[str, Any]]:
        return await self._stripped_state(membership)

    async def _left_room(self, req: RoomSyncRequest, membership: Membership) -> dict[str, Any]:
        """Timeline up to and including the leave, and the state at that point."""
        limit = req.filter.room.timeline.limit_or(10)
        since = None if req.since is None or req.full_state else req.since
        timeline, limited = await self._timeline(
            membership.room_id, since, membership.stream_pos + 1, limit, req.filter.room.timeline
        )
        timeline = await self._room_state.filter_visible(req.user_id, timeline)
        state_ids = await self._state_delta(
            membership.room_id, timeline, since, since is None, membership.stream_pos
        )
        room: dict[str, Any] = {
            "timeline": {
                "events": await self._formatter.format(timeline, req.user_id, req.device_id),
                "limited": limited,
            },
            "state": {"events": await self._state_events(req, state_ids, timeline)},
        }
        if timeline:
            room["timeline"]["prev_batch"] = position_token(timeline[0].stream_pos - 1)
        return room

    async def _timeline(
        self,
        room_id: str,
        since: int | None,
        before: int,
        limit: int,
        timeline_filter: RoomEventFilter,
    ) -> tuple[list[StoredEvent], bool]:
        types = (
            list(timeline_filter.types)
            if timeline_filter.types and not any("*" in t for t in timeline_filter.types)
            else None
        )
        fetched = None
        if since is not None:
            # A woken long-poll: the room's newest events are usually in memory.
            fetched = self._recent.newest(
                room_id, after=since, before=before, limit=limit + 1, types=types
            )
        if fetched is None:
            fetched = await self._events.room_events(
                room_id,
                after=since,
                before=before,
                limit=limit + 1,
                newest_first=True,
                types=types,
            )
        limited = len(fetched) > limit
        chosen = [e for e in fetched[:limit] if timeline_filter.matches(e.pdu)]
        chosen.reverse()
        return chosen, limited

    async def _state_delta(
        self, room_id: str, timeline: list[StoredEvent], since: int | None, initial: bool, upto: int
    ) -> StateIds:
        """The state the client lacks before the timeline starts."""
        if timeline:
            at_start = await self._state.get_state_ids(timeline[0].state_group)
        else:
            at_start = await self._state_at(room_id, upto)
        if initial or since is None:
            return dict(at_start)
        at_since = await self._state_at(room_id, since)
        return {key: eid for key, eid in at_start.items() if at_since.get(key) != eid}

    async def _state_at(self, room_id: str, position: int) -> StateIds:
        following = await self._events.room_events(
            room_id, after=position, limit=1, newest_first=False
        )
        if following:
            return await self._state.get_state_ids(following[0].state_group)
        room = await self._rooms.get_room(room_id)
        if room is None or room.head_state_group is None:
            return {}
        return await self._state.get_state_ids(room.head_state_group)

    async def _state_events(
        self, req: RoomSyncRequest, state_ids: StateIds, timeline: list[StoredEvent]
    ) -> list[dict[str, Any]]:
        state_filter = req.filter.room.state
        if state_filter.lazy_load_members:
            wanted_members = {e.sender for e in timeline} | {req.user_id}
            state_ids = {
                key: eid
                for key, eid in state_ids.items()
                if key[0] != "m.room.member" or key[1] in wanted_members
            }
        in_timeline = {e.event_id for e in timeline}
        ids = [eid for eid in state_ids.values() if eid not in in_timeline]
        found = await self._events.get_events(ids)
        chosen = [
            e
            for e in sorted(found.values(), key=lambda e: e.stream_pos)
            if state_filter.matches(e.pdu)
        ]
        return await self._formatter.format(chosen, req.user_id, bundle_relations=False)

    async def _summary(self, user_id: str, room_id: str) -> dict[str, Any]:
        return (await self._shared_summary(room_id)).for_user(user_id)

    async def _stripped_state(self, membership: Membership) -> list[dict[str, Any]]:
        remote = await self._events.invite_stripped_state(membership.event_id)
        if remote is not None:  # an invite from another server into a room not held here
            invite = await self._events.get_event(membership.event_id)
            mine = [] if invite is None else [_stripped(invite.pdu)]
            return [*remote, *mine]
        state = await self._state.current_state_ids(membership.room_id, list(STRIPPED_STATE_TYPES))
        ids = [*state.values(), membership.event_id]
        found = await self._events.get_events(ids)
        own = found.get(membership.event_id)
        if own is not None and own.sender != own.state_key:
            sender_member = await self._state.current_state_event_id(
                membership.room_id, "m.room.member", own.sender
            )
            if sender_member:
                found.update(await self._events.get_events([sender_member]))
        return [
            {"type": e.type, "state_key": e.state_key, "content": e.content, "sender": e.sender}
            for e in sorted(found.values(), key=lambda e: e.stream_pos)
        ]
