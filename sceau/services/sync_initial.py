"""The joined rooms of an initial /sync, read for all rooms at once.

An initial sync answers for every joined room: its newest events, the state
before them and its summary. Read room by room that is five or six queries
per room; on PostgreSQL each is a network round trip, so a user in a hundred
rooms waited on some five hundred of them. Here each kind of read is one
query for all the rooms (timelines, state groups, state events, member
counts, names), and the events of all rooms are formatted in one batch.
The entries are the same as :class:`~sceau.services.sync_rooms.RoomSyncBuilder`
builds one room at a time.
"""

from typing import Any

from sceau.protocol.filters import Filter, RoomEventFilter
from sceau.services.formatting import EventFormatter
from sceau.services.tokens import position_token
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.state import StateIds, StateStore

NAME_TYPES = ["m.room.name", "m.room.canonical_alias"]


def _state_to_send(
    state_filter: RoomEventFilter, state: StateIds, timeline: list[StoredEvent], user_id: str
) -> list[str]:
    """IDs of the state events to send beside the timeline (lazy members trimmed)."""
    if state_filter.lazy_load_members:
        wanted_members = {e.sender for e in timeline} | {user_id}
        state = {
            key: eid
            for key, eid in state.items()
            if key[0] != "m.room.member" or key[1] in wanted_members
        }
    in_timeline = {e.event_id for e in timeline}
    return [eid for eid in state.values() if eid not in in_timeline]


def _summary(user_id: str, members: list[tuple[str, str]], named: bool) -> dict[str, Any]:
    joined = [user for user, membership in members if membership == "join"]
    invited = [user for user, membership in members if membership == "invite"]
    summary: dict[str, Any] = {
        "m.joined_member_count": len(joined),
        "m.invited_member_count": len(invited),
    }
    if not named:
        summary["m.heroes"] = sorted(u for u in [*joined, *invited] if u and u != user_id)[:5]
    return summary


class InitialRooms:
    """Builds the ``rooms.join`` entries of an initial sync in batched reads."""

    def __init__(self, *, events: EventStore, state: StateStore, formatter: EventFormatter) -> None:
        self._events = events
        self._state = state
        self._formatter = formatter

    async def joined(
        self, user_id: str, device_id: str, upto: int, sync_filter: Filter, room_ids: list[str]
    ) -> dict[str, dict[str, Any]]:
        """room -> its entry; rooms with no event to show are left to the caller."""
        timelines = await self._timelines(sync_filter, upto, room_ids)
        rooms = [room_id for room_id in room_ids if timelines[room_id][0]]
        if not rooms:
            return {}
        groups = await self._state.get_state_ids_many(
            [timelines[room_id][0][0].state_group for room_id in rooms]
        )
        state_filter = sync_filter.room.state
        wanted = {
            room_id: _state_to_send(
                state_filter,
                groups[timelines[room_id][0][0].state_group],
                timelines[room_id][0],
                user_id,
            )
            for room_id in rooms
        }
        found = await self._events.get_events(eid for ids in wanted.values() for eid in ids)
        states = [
            [
                e
                for e in sorted((found[eid] for eid in wanted[room_id] if eid in found), key=_pos)
                if state_filter.matches(e.pdu)
            ]
            for room_id in rooms
        ]
        formatted_timelines = await self._formatter.format_many(
            [timelines[room_id][0] for room_id in rooms], user_id, device_id
        )
        formatted_states = await self._formatter.format_many(
            states, user_id, bundle_relations=False
        )
        summaries = await self._summaries(user_id, rooms)
        entries: dict[str, dict[str, Any]] = {}
        for index, room_id in enumerate(rooms):
            timeline, limited = timelines[room_id]
            entries[room_id] = {
                "timeline": {
                    "events": formatted_timelines[index],
                    "limited": limited,
                    "prev_batch": position_token(timeline[0].stream_pos - 1),
                },
                "state": {"events": formatted_states[index]},
                "summary": summaries[room_id],
            }
        return entries

    async def _timelines(
        self, sync_filter: Filter, upto: int, room_ids: list[str]
    ) -> dict[str, tuple[list[StoredEvent], bool]]:
        """room -> (its newest events that pass the filter, oldest first; limited)."""
        timeline_filter = sync_filter.room.timeline
        limit = timeline_filter.limit_or(10)
        types = (
            list(timeline_filter.types)
            if timeline_filter.types and not any("*" in t for t in timeline_filter.types)
            else None
        )
        newest = await self._events.newest_in_rooms(
            room_ids, before=upto + 1, limit=limit + 1, types=types
        )
        result: dict[str, tuple[list[StoredEvent], bool]] = {}
        for room_id, fetched in newest.items():
            chosen = [e for e in fetched[:limit] if timeline_filter.matches(e.pdu)]
            chosen.reverse()
            result[room_id] = (chosen, len(fetched) > limit)
        return result

    async def _summaries(self, user_id: str, room_ids: list[str]) -> dict[str, dict[str, Any]]:
        members = await self._state.members_in_rooms(room_ids)
        names = await self._state.current_state_ids_in_rooms(room_ids, NAME_TYPES)
        return {
            room_id: _summary(user_id, members[room_id], bool(names.get(room_id)))
            for room_id in room_ids
        }


def _pos(event: StoredEvent) -> int:
    return event.stream_pos
