"""A room never loses its last administrator.

When the last member with power 100 leaves, the server first promotes the
members with the highest remaining explicit level to 100, or, when nobody has
one, raises ``users_default`` to 100. It sends that power-levels change as the
leaving admin, while they are still joined, so the authorization rules accept
it; then the leave follows. Without this, a room whose admin leaves can never
again be renamed, moderated or upgraded.
"""

from collections.abc import Callable
from typing import Any

from sceau.protocol.power_levels import PowerLevel
from sceau.protocol.types import JsonDict
from sceau.services.events import EventService, EventSpec
from sceau.services.room_power import room_power
from sceau.storage.events import EventStore
from sceau.storage.state import StateStore

ADMIN_LEVEL = 100


def succession_power_levels(
    content: JsonDict,
    levels: dict[str, PowerLevel],
    leaving: str,
    is_external: Callable[[str], bool] = lambda _user: False,
) -> JsonDict | None:
    """The power-levels content after ``leaving`` goes, or None when nothing must change.

    ``levels`` holds every joined member's current level, the leaving one included.
    External partners are never promoted: when some are present, the agents are
    promoted by name instead of raising ``users_default``.
    """
    if levels.get(leaving, 0) < ADMIN_LEVEL:
        return None
    others = {user: level for user, level in levels.items() if user != leaving}
    if not others or any(level >= ADMIN_LEVEL for level in others.values()):
        return None
    explicit: dict[str, Any] = dict(content.get("users") or {})
    agents = {user: level for user, level in others.items() if not is_external(user)}
    ranked = {user: level for user, level in agents.items() if user in explicit}
    new = dict(content)
    if ranked:
        top = max(ranked.values())
        for user, level in ranked.items():
            if level == top:
                explicit[user] = ADMIN_LEVEL
        new["users"] = explicit
    elif len(agents) < len(others):
        if not agents:
            return None
        new["users"] = {**explicit, **dict.fromkeys(agents, ADMIN_LEVEL)}
    else:
        new["users_default"] = ADMIN_LEVEL
    return new


class AdminSuccession:
    """Runs before a local member leaves a room (RoomService's leave hooks)."""

    def __init__(
        self,
        *,
        events: EventService,
        event_store: EventStore,
        state: StateStore,
        is_external: Callable[[str], bool] = lambda _user: False,
    ) -> None:
        self._events = events
        self._event_store = event_store
        self._state = state
        self._is_external = is_external

    async def before_leave(self, user_id: str, room_id: str) -> None:
        power = await room_power(self._state, self._event_store, room_id)
        if power.power_levels is None or power.level_of(user_id) < ADMIN_LEVEL:
            return
        joined = await self._state.members(room_id, "join")
        if user_id not in joined:
            return
        levels = {member: power.level_of(member) for member in joined}
        content = succession_power_levels(power.power_levels, levels, user_id, self._is_external)
        if content is not None:
            await self._events.send(
                room_id, EventSpec("m.room.power_levels", content, user_id, state_key="")
            )
