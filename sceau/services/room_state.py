"""Reading room state and membership, and deciding who may see which events.

History visibility is judged with the state *at* each event (stored as a
deduplicated state group), so a user who left sees what they were allowed to
see and nothing after.
"""

from collections import OrderedDict
from typing import Any

from sceau.errors import forbidden, not_found
from sceau.protocol.types import JsonDict
from sceau.services.formatting import EventFormatter
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateIds, StateStore


class _Unknown:
    """Marks an argument the caller did not supply (None is a valid membership)."""


UNKNOWN = _Unknown()


class RoomStateService:
    VISIBILITY_CACHE_SIZE = 20_000

    def __init__(
        self, *, events: EventStore, state: StateStore, rooms: RoomStore, formatter: EventFormatter
    ) -> None:
        #: (state group, user) -> (history visibility, membership) in that group.
        self._visibility: OrderedDict[tuple[int, str], tuple[str, Any]] = OrderedDict()
        self._events = events
        self._state = state
        self._rooms = rooms
        self._formatter = formatter

    async def require_room(self, room_id: str) -> None:
        if await self._rooms.get_room(room_id) is None:
            raise not_found("Unknown room")

    async def viewable_state_ids(self, user_id: str, room_id: str) -> StateIds:
        """Current state for members; for those who left, the state when they left."""
        membership_id = await self._state.current_state_event_id(room_id, "m.room.member", user_id)
        if membership_id is None:
            await self.require_room(room_id)
            if await self._world_readable(room_id):
                return dict(await self._state.current_state_ids(room_id))
            raise forbidden("You are not in this room")
        membership_event = await self._events.get_event(membership_id)
        assert membership_event is not None
        membership = membership_event.content.get("membership")
        if membership == "join":
            return dict(await self._state.current_state_ids(room_id))
        if membership in ("leave", "ban"):
            state = dict(await self._state.get_state_ids(membership_event.state_group))
            state[("m.room.member", user_id)] = membership_id
            return state
        if await self._world_readable(room_id):
            return dict(await self._state.current_state_ids(room_id))
        raise forbidden("You are not joined to this room")

    async def _world_readable(self, room_id: str) -> bool:
        event_id = await self._state.current_state_event_id(
            room_id, "m.room.history_visibility", ""
        )
        if event_id is None:
            return False
        event = await self._events.get_event(event_id)
        return event is not None and event.content.get("history_visibility") == "world_readable"

    async def state_event(
        self, user_id: str, room_id: str, event_type: str, state_key: str
    ) -> StoredEvent:
        state = await self.viewable_state_ids(user_id, room_id)
        event_id = state.get((event_type, state_key))
        if event_id is None:
            raise not_found("State event not found")
        event = await self._events.get_event(event_id)
        if event is None:
            raise not_found("State event not found")
        return event

    async def full_state(self, user_id: str, room_id: str) -> list[dict[str, Any]]:
        state = await self.viewable_state_ids(user_id, room_id)
        events = await self._events.get_events(state.values())
        ordered = sorted(events.values(), key=lambda e: e.stream_pos)
        return await self._formatter.format(ordered, user_id, bundle_relations=False)

    async def members(
        self,
        user_id: str,
        room_id: str,
        at_group: int | None = None,
        membership: str | None = None,
        not_membership: str | None = None,
    ) -> list[dict[str, Any]]:
        """GET /members: member events, optionally at an earlier point and filtered."""
        if at_group is not None:
            await self.viewable_state_ids(user_id, room_id)
            state = await self._state.get_state_ids(at_group)
        else:
            state = await self.viewable_state_ids(user_id, room_id)
        member_ids = [eid for (etype, _), eid in state.items() if etype == "m.room.member"]
        events = await self._events.get_events(member_ids)
        chosen = []
        for event in sorted(events.values(), key=lambda e: e.stream_pos):
            current = event.content.get("membership")
            if membership is not None and current != membership:
                continue
            if not_membership is not None and current == not_membership:
                continue
            chosen.append(event)
        return await self._formatter.format(chosen, user_id, bundle_relations=False)

    async def group_at_position(self, room_id: str, position: int) -> int | None:
        """The state group in force at a stream position (None: the current state)."""
        following = await self._events.room_events(
            room_id, after=position, limit=1, newest_first=False
        )
        return following[0].state_group if following else None

    async def joined_members(self, user_id: str, room_id: str) -> dict[str, JsonDict]:
        if await self._state.membership(room_id, user_id) != "join":
            await self.require_room(room_id)
            raise forbidden("You are not joined to this room")
        state = await self._state.current_state_ids(room_id, ["m.room.member"])
        events = await self._events.get_events(state.values())
        joined: dict[str, JsonDict] = {}
        for event in events.values():
            if event.content.get("membership") == "join" and event.state_key:
                profile: JsonDict = {}
                name = event.content.get("displayname")
                avatar = event.content.get("avatar_url")
                if isinstance(name, str):
                    profile["display_name"] = name
                if isinstance(avatar, str):
                    profile["avatar_url"] = avatar
                joined[event.state_key] = profile
        return joined

    async def joined_rooms(self, user_id: str) -> list[str]:
        return [m.room_id for m in await self._state.rooms_for_user(user_id, ("join",))]

    # ------------------------------------------------------------- visibility

    async def _at_group(self, user_id: str, group: int) -> tuple[str, Any]:
        """(history visibility, the user's membership) in a state group.

        Both survive redaction and a group never changes, so the pair is
        cached (bounded) without invalidation: paging back through a room
        asks it again for every page of the same group.
        """
        key = (group, user_id)
        cached = self._visibility.get(key)
        if cached is not None:
            self._visibility.move_to_end(key)
            return cached
        state = await self._state.get_state_ids(group)
        wanted = [
            state.get(("m.room.history_visibility", "")),
            state.get(("m.room.member", user_id)),
        ]
        found = await self._events.get_events([eid for eid in wanted if eid])
        visibility = "shared"
        if wanted[0] and wanted[0] in found:
            visibility = str(found[wanted[0]].content.get("history_visibility", "shared"))
        membership = None
        if wanted[1] and wanted[1] in found:
            membership = found[wanted[1]].content.get("membership")
        self._visibility[key] = (visibility, membership)
        if len(self._visibility) > self.VISIBILITY_CACHE_SIZE:
            self._visibility.popitem(last=False)
        return visibility, membership

    async def filter_visible(
        self,
        user_id: str,
        events: list[StoredEvent],
        current_membership: str | _Unknown | None = UNKNOWN,
    ) -> list[StoredEvent]:
        """Keep the events the user may see under each event's history visibility.

        A caller that has just read the user's current membership in the room
        passes it, saving the query.
        """
        if not events:
            return []
        current = (
            await self._state.membership(events[0].room_id, user_id)
            if isinstance(current_membership, _Unknown)
            else current_membership
        )
        verdicts: dict[int, bool] = {}
        visible = []
        for event in events:
            if event.type == "m.room.member" and event.state_key == user_id:
                visible.append(event)
                continue
            verdict = verdicts.get(event.state_group)
            if verdict is None:
                verdict = await self._visible_at_group(user_id, event.state_group, current)
                verdicts[event.state_group] = verdict
            if verdict:
                visible.append(event)
        return visible

    async def _visible_at_group(
        self, user_id: str, group: int, current_membership: str | None
    ) -> bool:
        visibility, membership = await self._at_group(user_id, group)
        if visibility == "world_readable" or membership == "join":
            return True
        if visibility == "shared":
            return current_membership == "join"
        if visibility == "invited":
            return membership == "invite"
        return False
