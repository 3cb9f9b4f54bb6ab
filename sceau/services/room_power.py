"""A member's power in a room's current state, for checks made before sending.

The authorization rules judge every event anyway; these reads let services
refuse early with a clear message (directory listing, room upgrades).
"""

from dataclasses import dataclass

from sceau.errors import not_found
from sceau.protocol.power_levels import (
    Action,
    PowerLevel,
    action_power_level,
    event_power_level,
    user_power_level,
)
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.types import JsonDict
from sceau.storage.events import EventStore
from sceau.storage.state import StateStore


@dataclass(frozen=True)
class RoomPower:
    version: RoomVersion
    create: JsonDict
    power_levels: JsonDict | None

    def level_of(self, user_id: str) -> PowerLevel:
        return user_power_level(user_id, self.power_levels, self.create, self.version)

    def may_send_state(self, user_id: str, event_type: str) -> bool:
        return self.level_of(user_id) >= event_power_level(event_type, True, self.power_levels)

    def may(self, user_id: str, action: Action) -> bool:
        """invite, kick, ban or redact."""
        return self.level_of(user_id) >= action_power_level(action, self.power_levels)


async def room_power(state: StateStore, events: EventStore, room_id: str) -> RoomPower:
    """The current create event and power levels of a room (404 if unknown)."""
    ids = await state.current_state_ids(room_id, ["m.room.create", "m.room.power_levels"])
    create_id = ids.get(("m.room.create", ""))
    if create_id is None:
        raise not_found("Unknown room")
    found = await events.get_events(ids.values())
    create = found[create_id].pdu
    version = get_room_version(str(create.get("content", {}).get("room_version", "1")))
    if version is None:
        raise not_found("Room has an unknown version")
    pl_id = ids.get(("m.room.power_levels", ""))
    power_levels = found[pl_id].content if pl_id and pl_id in found else None
    return RoomPower(version, create, power_levels)
