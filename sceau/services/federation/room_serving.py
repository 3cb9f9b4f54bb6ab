"""What other servers may read of a room's DAG: events, state, auth chains, history.

Every answer here goes to a server that has a user in the room (joined or
invited, now); anything else is 403 ``M_FORBIDDEN``. Events that the room's
history visibility hides from that server at the time they were sent are
served redacted, as Synapse does, so the graph stays whole but the content
does not leak.
"""

from collections.abc import Iterable
from typing import Any

from sceau.errors import MatrixError, forbidden, not_found
from sceau.protocol.auth_rules import server_name_of
from sceau.protocol.event_format import auth_event_ids, prev_event_ids
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.types import JsonDict
from sceau.services.event_graph import EventGraph
from sceau.services.state_history import DEEP_HISTORY
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateIds, StateStore

#: Most events one backfill or get_missing_events answer holds.
MAX_EVENTS = 100


class FederationRoomReader:
    def __init__(
        self,
        *,
        server_name: str,
        events: EventStore,
        state: StateStore,
        rooms: RoomStore,
        graph: EventGraph,
    ) -> None:
        self._server_name = server_name
        self._events = events
        self._state = state
        self._rooms = rooms
        self._graph = graph

    async def room_version(self, room_id: str) -> RoomVersion:
        room = await self._rooms.get_room(room_id)
        if room is None:
            raise not_found("Unknown room")
        version = get_room_version(room.room_version)
        if version is None:
            raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION", "Unsupported room version")
        return version

    async def require_server_in_room(self, origin: str, room_id: str) -> RoomVersion:
        """403 unless one of ``origin``'s users is joined to (or invited into) the room now."""
        version = await self.room_version(room_id)
        if not await self._server_in_state(origin, await self._state.current_state_ids(room_id)):
            raise forbidden(f"{origin} is not in room {room_id}")
        return version

    async def _server_in_state(
        self, origin: str, state: StateIds, memberships: tuple[str, ...] = ("join", "invite")
    ) -> bool:
        members = [
            eid
            for (event_type, key), eid in state.items()
            if event_type == "m.room.member" and server_name_of(key) == origin
        ]
        if not members:
            return False
        found = await self._graph.load_pdus(members)
        return any(
            (pdu.get("content") or {}).get("membership") in memberships for pdu in found.values()
        )

    # ------------------------------------------------------------------ events

    async def event(self, origin: str, event_id: str) -> JsonDict:
        """GET /_matrix/federation/v1/event/{eventId}: one PDU, redacted if hidden."""
        stored = await self._events.get_event(event_id)
        if stored is None:
            raise not_found("Unknown event")
        version = await self.require_server_in_room(origin, stored.room_id)
        (pdu,) = await self._for_server(origin, version, [stored])
        return pdu

    async def _for_server(
        self, origin: str, version: RoomVersion, events: list[StoredEvent]
    ) -> list[JsonDict]:
        """The PDUs as ``origin`` may see them (history visibility at each event)."""
        verdicts: dict[int, bool] = {}
        shown = []
        for stored in events:
            visible = verdicts.get(stored.state_group)
            if visible is None:
                visible = await self._visible(origin, stored.state_group)
                verdicts[stored.state_group] = visible
            shown.append(stored.pdu if visible else redact_event(stored.pdu, version))
        return shown

    async def _visible(self, origin: str, group: int) -> bool:
        state = await self._state.get_state_ids(group)
        visibility = "shared"
        hv_id = state.get(("m.room.history_visibility", ""))
        if hv_id is not None:
            content = (await self._graph.load_pdus([hv_id])).get(hv_id, {}).get("content")
            if isinstance(content, dict) and isinstance(content.get("history_visibility"), str):
                visibility = content["history_visibility"]
        if visibility in ("world_readable", "shared"):
            return True
        wanted = ("join", "invite") if visibility == "invited" else ("join",)
        return await self._server_in_state(origin, state, wanted)

    async def state_before(self, room_id: str, event_id: str) -> tuple[StoredEvent, StateIds]:
        stored = await self._events.get_event(event_id)
        if stored is None or stored.room_id != room_id:
            raise not_found("Unknown event")
        if stored.stream_pos <= DEEP_HISTORY:
            # Held for the room's state only: the state before it is not known here.
            raise not_found("The state at this event is not known here")
        return stored, await self._state.get_state_ids(stored.state_group)

    async def state_ids(self, origin: str, room_id: str, event_id: str) -> dict[str, Any]:
        """GET /_matrix/federation/v1/state_ids/{roomId}: the state before the event, by ID."""
        await self.require_server_in_room(origin, room_id)
        _stored, state = await self.state_before(room_id, event_id)
        chain = await self.auth_chain_ids(state.values())
        return {"pdu_ids": sorted(state.values()), "auth_chain_ids": sorted(chain)}

    async def state(self, origin: str, room_id: str, event_id: str) -> dict[str, Any]:
        """GET /_matrix/federation/v1/state/{roomId}: the same, as full PDUs."""
        await self.require_server_in_room(origin, room_id)
        _stored, state = await self.state_before(room_id, event_id)
        chain = await self.auth_chain_ids(state.values())
        pdus = await self._graph.load_pdus([*state.values(), *chain])
        return {
            "pdus": [pdus[eid] for eid in sorted(state.values()) if eid in pdus],
            "auth_chain": [pdus[eid] for eid in sorted(chain) if eid in pdus],
        }

    async def auth_chain_ids(self, event_ids: Iterable[str]) -> set[str]:
        """Every event reachable through auth_events (the starting events excluded)."""
        start = set(event_ids)
        start_pdus = await self._graph.load_pdus(start)
        first = {aid for pdu in start_pdus.values() for aid in auth_event_ids(pdu)}
        return set(await self._graph.with_auth_chains(first))

    async def event_auth(self, origin: str, room_id: str, event_id: str) -> list[JsonDict]:
        """GET /_matrix/federation/v1/event_auth/{roomId}/{eventId}: its full auth chain."""
        await self.require_server_in_room(origin, room_id)
        pdu = (await self._graph.load_pdus([event_id])).get(event_id)
        if pdu is None:
            raise not_found("Unknown event")
        chain = await self._graph.with_auth_chains(auth_event_ids(pdu))
        return sorted(chain.values(), key=lambda e: (e.get("depth", 0), str(e.get("type"))))

    # ----------------------------------------------------------------- history

    async def backfill(
        self, origin: str, room_id: str, starts: list[str], limit: int
    ) -> list[JsonDict]:
        """GET /_matrix/federation/v1/backfill/{roomId}: events before (and at) ``starts``.

        A breadth-first walk back along prev_events, newest first, as the
        spec describes; at most ``limit`` (capped at 100) events.
        """
        version = await self.require_server_in_room(origin, room_id)
        return await self._walk_back(origin, version, room_id, starts, set(), limit)

    async def missing_events(
        self,
        origin: str,
        room_id: str,
        earliest: list[str],
        latest: list[str],
        limit: int,
        min_depth: int,
    ) -> list[JsonDict]:
        """POST /_matrix/federation/v1/get_missing_events/{roomId}, oldest first.

        The events reachable back from ``latest`` that are not ``earliest``
        nor before them, down to ``min_depth``; ``latest`` themselves are
        left out (the caller has them).
        """
        version = await self.require_server_in_room(origin, room_id)
        latest_pdus = await self._events.get_events(latest)
        starts = [p for e in latest_pdus.values() for p in prev_event_ids(e.pdu, version)]
        found = await self._walk_back(
            origin, version, room_id, starts, set(earliest), limit, min_depth
        )
        return sorted(found, key=lambda e: e.get("depth", 0))

    async def _walk_back(
        self,
        origin: str,
        version: RoomVersion,
        room_id: str,
        starts: list[str],
        stop: set[str],
        limit: int,
        min_depth: int = 0,
    ) -> list[JsonDict]:
        limit = max(0, min(limit, MAX_EVENTS))
        seen = set(stop)
        frontier = [eid for eid in dict.fromkeys(starts) if eid not in seen]
        found: list[StoredEvent] = []
        while frontier and len(found) < limit:
            stored = await self._events.get_events(frontier)
            seen.update(frontier)
            layer = sorted(
                (e for e in stored.values() if e.room_id == room_id),
                key=lambda e: -int(e.pdu.get("depth", 0)),
            )
            following: list[str] = []
            for event in layer:
                if int(event.pdu.get("depth", 0)) < min_depth:
                    continue
                if len(found) >= limit:
                    break
                found.append(event)
                following.extend(p for p in prev_event_ids(event.pdu, version) if p not in seen)
            frontier = list(dict.fromkeys(following))
        return await self._for_server(origin, version, found)
