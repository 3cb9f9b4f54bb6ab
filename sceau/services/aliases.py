"""Room aliases in the local directory (PUT/DELETE /directory/room/{alias}).

createRoom's own alias is written by the room service inside the room's
creating transaction; this service handles the aliases added and removed later.
"""

from sceau.errors import MatrixError, forbidden, invalid_param, not_found
from sceau.protocol.identifiers import is_valid_room_alias, is_valid_room_id
from sceau.services.room_power import room_power
from sceau.storage.database import Database
from sceau.storage.events import EventStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore


async def resolve_room_id(rooms: RoomStore, room_id_or_alias: str) -> str:
    """The room a client named, by ID or by an alias of the local directory."""
    if room_id_or_alias.startswith("#"):
        found = await rooms.get_alias(room_id_or_alias)
        if found is None:
            raise not_found("Room alias not found")
        return found[0]
    if not is_valid_room_id(room_id_or_alias):
        raise invalid_param("Invalid room ID or alias")
    return room_id_or_alias


class AliasService:
    def __init__(
        self,
        *,
        server_name: str,
        db: Database,
        rooms: RoomStore,
        state: StateStore,
        events: EventStore,
    ) -> None:
        self._server_name = server_name
        self._db = db
        self._rooms = rooms
        self._state = state
        self._events = events

    async def create_alias(self, user_id: str, alias: str, room_id: str) -> None:
        """Only joined members may point an alias of this server at a room."""
        if not is_valid_room_alias(alias) or not alias.endswith(":" + self._server_name):
            raise invalid_param("Invalid alias, or alias of another server")
        if await self._rooms.get_room(room_id) is None:
            raise not_found("Unknown room")
        if await self._state.membership(room_id, user_id) != "join":
            raise forbidden("You are not joined to this room")
        async with self._db.transaction() as txn:
            if not await self._rooms.insert_alias(txn, alias, room_id, user_id):
                raise MatrixError(409, "M_UNKNOWN", "Room alias already exists")

    async def delete_alias(self, user_id: str, alias: str, is_admin: bool) -> None:
        """Its creator, an admin, or a member who may set the canonical alias."""
        found = await self._rooms.get_alias(alias)
        if found is None:
            raise not_found("Room alias not found")
        room_id, creator = found
        if creator != user_id and not is_admin:
            power = await room_power(self._state, self._events, room_id)
            if not power.may_send_state(user_id, "m.room.canonical_alias"):
                raise forbidden("You may not delete this alias")
        await self._rooms.delete_alias(alias)
