"""Spaces: the space hierarchy (GET /hierarchy) and one room's summary (GET /room_summary).

The hierarchy is walked depth-first, as the spec describes: a room is
followed by its children in the spec's child order, each child's subtree
before the next sibling, every room at most once (which also breaks loops).
A page reloads the reachable tree (one batch of queries per level, at most
``MAX_WALK`` rooms) and the ``from`` token is an offset into that order, so
tokens survive restarts and need no server-side sessions. Rooms of other
servers are not fetched (no federation): they stay in their parent's
``children_state`` and are otherwise skipped.
"""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from sceau.errors import forbidden, invalid_param, not_found
from sceau.services.aliases import resolve_room_id
from sceau.services.room_directory import public_room_chunk
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.room_directory import RoomSummary, RoomSummaryStore
from sceau.storage.rooms import RoomStore
from sceau.storage.state import StateStore

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
#: Rooms loaded at most for one request, whatever the shape of the tree.
MAX_WALK = 1000

SPACE = "m.space"
OPEN_JOIN_RULES = ("public", "knock", "knock_restricted")
RESTRICTED_JOIN_RULES = ("restricted", "knock_restricted")
#: A valid ``order``: up to 50 characters from \x20 to \x7E.
_VALID_ORDER = re.compile(r"[\x20-\x7e]{0,50}")


@dataclass(frozen=True)
class HierarchyQuery:
    room_id: str
    suggested_only: bool = False
    max_depth: int | None = None
    limit: int = DEFAULT_LIMIT
    from_token: str | None = None


@dataclass(frozen=True)
class _Room:
    summary: RoomSummary
    #: The valid m.space.child events in the spec's order (none unless a space).
    children: list[StoredEvent] = field(default_factory=list)
    allowed_room_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Viewer:
    """Who asks (None: unauthenticated) and their membership in every room."""

    user_id: str | None
    memberships: dict[str, str]

    def may_see(self, room: _Room) -> bool:
        """Joined, invited, a potential joiner, or the room is open or world-readable."""
        summary = room.summary
        if summary.join_rule in OPEN_JOIN_RULES:
            return True
        if summary.history_visibility == "world_readable":
            return True
        if self.memberships.get(summary.room_id) in ("join", "invite"):
            return True
        return summary.join_rule in RESTRICTED_JOIN_RULES and any(
            self.memberships.get(other) == "join" for other in room.allowed_room_ids
        )


class SpaceService:
    def __init__(
        self,
        *,
        summaries: RoomSummaryStore,
        state: StateStore,
        events: EventStore,
        rooms: RoomStore,
    ) -> None:
        self._summaries = summaries
        self._state = state
        self._events = events
        self._rooms = rooms

    # -------------------------------------------------------------- hierarchy

    async def hierarchy(self, user_id: str, query: HierarchyQuery) -> dict[str, Any]:
        """GET /hierarchy: one page of the rooms the user may see under ``query.room_id``."""
        viewer = await self._viewer(user_id)
        root = (await self._load([query.room_id], query.suggested_only)).get(query.room_id)
        # The spec answers 403 for an unknown room as for a hidden one.
        if root is None or not viewer.may_see(root):
            raise forbidden("You may not view this room")
        offset = _parse_token(query.from_token, _token_key(user_id, query))
        graph = await self._reachable(root, viewer, query)
        ordered = _depth_first(graph, root.summary.room_id, viewer, query.max_depth)
        page = ordered[offset : offset + query.limit]
        response: dict[str, Any] = {"rooms": [_hierarchy_entry(room) for room in page]}
        if offset + query.limit < len(ordered):
            response["next_batch"] = f"{offset + query.limit}.{_token_key(user_id, query)}"
        return response

    async def _reachable(
        self, root: _Room, viewer: _Viewer, query: HierarchyQuery
    ) -> dict[str, _Room]:
        """Every room within ``max_depth`` of the root through visible spaces, level by level.

        Loading by level (breadth-first) reaches each room at its least depth,
        so it holds every room the depth-first order can reach.
        """
        graph = {root.summary.room_id: root}
        tried = set(graph)
        level, depth = [root], 0
        while level and (query.max_depth is None or depth < query.max_depth):
            wanted: list[str] = []
            for room in level:
                if not viewer.may_see(room):
                    continue
                for child in room.children:
                    child_id = str(child.state_key)
                    if child_id not in tried and len(tried) < MAX_WALK:
                        tried.add(child_id)
                        wanted.append(child_id)
            loaded = await self._load(wanted, query.suggested_only)
            graph.update(loaded)
            level, depth = [loaded[r] for r in wanted if r in loaded], depth + 1
        return graph

    async def federation_hierarchy(self, room_id: str, suggested_only: bool) -> dict[str, Any]:
        """GET /federation/v1/hierarchy: a room and its direct children, as another server sees them.

        A server sees what anyone may see without joining (open or knockable
        join rules, world-readable history); children it may not see are
        listed in ``inaccessible_children``.
        """
        viewer = _Viewer(None, {})
        root = (await self._load([room_id], suggested_only)).get(room_id)
        if root is None or not viewer.may_see(root):
            raise not_found("Room not found or not accessible")
        child_ids = [str(child.state_key) for child in root.children]
        loaded = await self._load(child_ids[:MAX_WALK], suggested_only)
        children, inaccessible = [], []
        for child_id in child_ids:
            child = loaded.get(child_id)
            if child is None:
                continue
            if viewer.may_see(child):
                children.append(_hierarchy_entry(child))
            else:
                inaccessible.append(child_id)
        return {
            "room": _hierarchy_entry(root),
            "children": children,
            "inaccessible_children": inaccessible,
        }

    # ----------------------------------------------------------- room summary

    async def room_summary(self, user_id: str | None, room_id_or_alias: str) -> dict[str, Any]:
        """GET /room_summary: the room's summary, if the requester may see it (else 404)."""
        room_id = await resolve_room_id(self._rooms, room_id_or_alias)
        viewer = await self._viewer(user_id)
        room = (await self._load([room_id], suggested_only=False)).get(room_id)
        if room is None or not viewer.may_see(room):
            raise not_found("Room not found or is not accessible")
        summary = _summary_json(room)
        if user_id is not None:
            summary["membership"] = viewer.memberships.get(room_id, "leave")
        return summary

    # ---------------------------------------------------------------- loading

    async def _viewer(self, user_id: str | None) -> _Viewer:
        if user_id is None:
            return _Viewer(None, {})
        rows = await self._state.rooms_for_user(user_id)
        return _Viewer(user_id, {m.room_id: m.membership for m in rows})

    async def _load(self, room_ids: list[str], suggested_only: bool) -> dict[str, _Room]:
        """Summaries, children and allow lists of these rooms (unknown rooms are absent)."""
        if not room_ids:
            return {}
        summaries = await self._summaries.summaries(room_ids)
        if not summaries:
            return {}
        state = await self._state.current_state_ids_in_rooms(
            list(summaries), ["m.space.child", "m.room.join_rules"]
        )
        events = await self._events.get_events(
            event_id for ids in state.values() for event_id in ids.values()
        )
        rooms: dict[str, _Room] = {}
        for room_id, summary in summaries.items():
            ids = state.get(room_id, {})
            children: list[StoredEvent] = []
            if summary.room_type == SPACE:
                children = [
                    events[event_id]
                    for (event_type, _), event_id in ids.items()
                    if event_type == "m.space.child" and event_id in events
                ]
                children = _ordered_children(children, suggested_only)
            rules = events.get(ids.get(("m.room.join_rules", ""), ""))
            rooms[room_id] = _Room(summary, children, _allowed_room_ids(summary, rules))
        return rooms


# -------------------------------------------------------------------- order


def _depth_first(
    graph: dict[str, _Room], root_id: str, viewer: _Viewer, max_depth: int | None
) -> list[_Room]:
    """The visible rooms in the order of the spec's depth-first walk, each once."""
    ordered: list[_Room] = []
    stack: list[tuple[str, int]] = [(root_id, 0)]
    seen: set[str] = set()
    while stack:
        room_id, depth = stack.pop()
        if room_id in seen:
            continue
        seen.add(room_id)
        room = graph.get(room_id)
        if room is None or not viewer.may_see(room):
            continue
        ordered.append(room)
        if max_depth is None or depth < max_depth:
            stack.extend((str(c.state_key), depth + 1) for c in reversed(room.children))
    return ordered


def _ordered_children(events: list[StoredEvent], suggested_only: bool) -> list[StoredEvent]:
    """Children with a valid ``via``, in the spec's order: ``order``, then timestamp, then ID."""
    valid = [e for e in events if _has_valid_via(e.content)]
    if suggested_only:
        valid = [e for e in valid if e.content.get("suggested") is True]
    return sorted(valid, key=_child_key)


def _has_valid_via(content: dict[str, Any]) -> bool:
    via = content.get("via")
    return isinstance(via, list) and bool(via) and all(isinstance(v, str) for v in via)


def _child_key(event: StoredEvent) -> tuple[bool, str, int, str]:
    order = event.content.get("order")
    if not isinstance(order, str) or not _VALID_ORDER.fullmatch(order):
        order = None
    timestamp = event.pdu.get("origin_server_ts")
    return (
        order is None,
        order or "",
        timestamp if isinstance(timestamp, int) else 0,
        str(event.state_key),
    )


def _allowed_room_ids(summary: RoomSummary, rules: StoredEvent | None) -> list[str]:
    """The rooms whose members may join a restricted room (none for other join rules)."""
    if rules is None or summary.join_rule not in RESTRICTED_JOIN_RULES:
        return []
    allow = rules.content.get("allow")
    if not isinstance(allow, list):
        return []
    found = [
        entry["room_id"]
        for entry in allow
        if isinstance(entry, dict)
        and entry.get("type") == "m.room_membership"
        and isinstance(entry.get("room_id"), str)
    ]
    return list(dict.fromkeys(found))


# --------------------------------------------------------------- pagination


def _token_key(user_id: str, query: HierarchyQuery) -> str:
    """Ties a token to the requester, the root and the parameters that may not change."""
    bound = f"{user_id}\0{query.room_id}\0{query.suggested_only}\0{query.max_depth}"
    return hashlib.sha256(bound.encode()).hexdigest()[:16]


def _parse_token(token: str | None, key: str) -> int:
    if token is None:
        return 0
    offset, _, token_key = token.partition(".")
    if not offset.isdigit() or len(offset) > 9 or token_key != key:
        raise invalid_param("Unknown pagination token, or suggested_only or max_depth changed")
    return int(offset)


# --------------------------------------------------------------- responses


def _summary_json(room: _Room) -> dict[str, Any]:
    """The spec's RoomSummary: the directory's chunk plus encryption and version."""
    summary = room.summary
    entry = public_room_chunk(summary)
    optional = {"encryption": summary.encryption, "room_version": summary.room_version}
    entry.update({key: value for key, value in optional.items() if value is not None})
    if room.allowed_room_ids:
        entry["allowed_room_ids"] = list(room.allowed_room_ids)
    return entry


def _hierarchy_entry(room: _Room) -> dict[str, Any]:
    entry = _summary_json(room)
    entry["children_state"] = [
        {
            "type": child.type,
            "state_key": child.state_key,
            "content": child.content,
            "sender": child.sender,
            "origin_server_ts": child.pdu.get("origin_server_ts"),
        }
        for child in room.children
    ]
    return entry
