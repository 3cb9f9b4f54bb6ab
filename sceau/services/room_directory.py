"""The local room directory: publicRooms and each room's listing visibility.

A room is listed when it is *published* (createRoom with visibility public,
or PUT /directory/list/room). What the listing shows comes from the room
summaries a persist hook keeps current, so a page costs one query.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sceau.errors import bad_json, forbidden, invalid_param, not_found
from sceau.protocol.identifiers import is_valid_server_name
from sceau.services.event_types import PersistedEvent
from sceau.services.room_power import room_power
from sceau.storage.database import Transaction
from sceau.storage.events import EventStore
from sceau.storage.room_directory import SUMMARY_FIELDS, RoomSummary, RoomSummaryStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass(frozen=True)
class DirectoryQuery:
    limit: int | None = None
    since: str | None = None
    search_term: str | None = None
    #: None: every room type; otherwise the wanted types (None in it: plain rooms).
    room_types: tuple[str | None, ...] | None = None
    server: str | None = None


class RoomDirectoryService:
    def __init__(
        self,
        *,
        server_name: str,
        summaries: RoomSummaryStore,
        rooms: RoomStore,
        state: StateStore,
        events: EventStore,
    ) -> None:
        self._server_name = server_name
        self._summaries = summaries
        self._rooms = rooms
        self._state = state
        self._events = events
        #: Asks another server for its public rooms (None: federation off).
        self.remote: Callable[[str, DirectoryQuery], Awaitable[dict[str, Any]]] | None = None
        #: Checks a room must pass before it is published (the state's room policy).
        self.publish_checks: list[Callable[[str], Awaitable[None]]] = []

    async def summary_hook(self, txn: Transaction, events: list[PersistedEvent]) -> None:
        """Persist hook: keep the room's summary row in step with its state."""
        for event in events:
            await self._update_summary(txn, event)

    async def _update_summary(self, txn: Transaction, event: PersistedEvent) -> None:
        pdu = event.pdu
        if pdu.get("state_key") != "":
            return
        found = SUMMARY_FIELDS.get(str(pdu.get("type")))
        if found is None:
            return
        field, column = found
        content = pdu.get("content")
        value = content.get(field) if isinstance(content, dict) else None
        await self._summaries.set_field(
            txn, event.room_id, column, value if isinstance(value, str) else None
        )

    # ----------------------------------------------------------- publicRooms

    async def public_rooms(self, query: DirectoryQuery) -> dict[str, Any]:
        """GET/POST /publicRooms: published rooms, the most joined first."""
        if query.server is not None and query.server != self._server_name:
            if not is_valid_server_name(query.server):
                raise invalid_param("'server' is not a valid server name")
            if self.remote is None:
                raise forbidden("Federation is not enabled: only this server's rooms are listed")
            return await self.remote(query.server, query)
        offset = _parse_since(query.since)
        rooms = [room for room in await self._summaries.published() if _matches(room, query)]
        rooms.sort(key=lambda room: (-room.joined_members, room.room_id))
        # A limit of 0 or none lists everything (there is no empty page to ask for).
        limit = query.limit if query.limit else len(rooms)
        page = rooms[offset : offset + limit]
        response: dict[str, Any] = {
            "chunk": [public_room_chunk(room) for room in page],
            "total_room_count_estimate": len(rooms),
        }
        if offset + limit < len(rooms):
            response["next_batch"] = f"d{offset + limit}"
        if offset > 0:
            response["prev_batch"] = f"d{max(0, offset - limit)}"
        return response

    # ------------------------------------------------------------- visibility

    async def visibility(self, room_id: str) -> str:
        room = await self._rooms.get_room(room_id)
        if room is None:
            raise not_found("Unknown room")
        return "public" if room.published else "private"

    async def set_visibility(
        self, user_id: str, is_admin: bool, room_id: str, visibility: str
    ) -> None:
        """Publish or hide a room: admins, or members who may set its canonical alias."""
        if visibility not in ("public", "private"):
            raise bad_json("'visibility' must be 'public' or 'private'")
        if await self._rooms.get_room(room_id) is None:
            raise not_found("Unknown room")
        if not is_admin:
            if await self._state.membership(room_id, user_id) != "join":
                raise forbidden("You are not joined to this room")
            power = await room_power(self._state, self._events, room_id)
            if not power.may_send_state(user_id, "m.room.canonical_alias"):
                raise forbidden("You do not have permission to change the room's listing")
        if visibility == "public":
            for check in self.publish_checks:
                await check(room_id)
        await self._rooms.set_published(room_id, visibility == "public")


def _parse_since(token: str | None) -> int:
    if not token:
        return 0
    if token[:1] != "d" or not token[1:].isdigit():
        raise invalid_param("Invalid 'since' token")
    return int(token[1:])


#: Join rules under which a published room is worth listing: anyone can get in.
LISTED_JOIN_RULES = ("public", "knock", "knock_restricted")


def _matches(room: RoomSummary, query: DirectoryQuery) -> bool:
    """Published, open to outsiders (or readable by them), and matching the filter."""
    if room.join_rule not in LISTED_JOIN_RULES and room.history_visibility != "world_readable":
        return False
    if query.room_types is not None and room.room_type not in query.room_types:
        return False
    term = (query.search_term or "").strip().casefold()
    if not term:
        return True
    fields = (room.name, room.topic, room.canonical_alias, room.room_id)
    return any(term in value.casefold() for value in fields if value)


def public_room_chunk(room: RoomSummary) -> dict[str, Any]:
    """A room as the directory lists it (PublishedRoomsChunk); absent values left out."""
    entry: dict[str, Any] = {
        "room_id": room.room_id,
        "num_joined_members": room.joined_members,
        "world_readable": room.history_visibility == "world_readable",
        "guest_can_join": room.guest_access == "can_join",
    }
    optional = {
        "name": room.name,
        "topic": room.topic,
        "canonical_alias": room.canonical_alias,
        "avatar_url": room.avatar_url,
        "join_rule": room.join_rule,
        "room_type": room.room_type,
    }
    entry.update({key: value for key, value in optional.items() if value is not None})
    return entry


def parse_directory_filter(
    body: dict[str, Any],
) -> tuple[str | None, tuple[str | None, ...] | None]:
    """(generic_search_term, room_types) from a POST /publicRooms ``filter``."""
    raw = body.get("filter")
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise bad_json("'filter' must be an object")
    term = raw.get("generic_search_term")
    if term is not None and not isinstance(term, str):
        raise bad_json("'generic_search_term' must be a string")
    types = raw.get("room_types")
    if types is None:
        return term, None
    if not isinstance(types, list) or not all(t is None or isinstance(t, str) for t in types):
        raise bad_json("'room_types' must be a list of strings or nulls")
    return term, tuple(types)
