"""How a PDU names itself and the events it references, per room version.

Room versions 1 and 2 carry a server-chosen ``event_id`` in the PDU and list
``auth_events``/``prev_events`` as ``[event_id, {hashes}]`` pairs; from v3 the
event ID is the reference hash (standard Base64 in v3, URL-safe from v4) and
references are plain IDs. Callers use these helpers so that nothing else in
Sceau has to know which format a room uses.
"""

import heapq
from collections.abc import Callable
from typing import Any

from sceau.protocol.base64 import encode_base64
from sceau.protocol.hashing import compute_event_id, compute_reference_hash, is_server_event_id
from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict

__all__ = [
    "auth_event_ids",
    "compute_event_id",
    "event_id_server",
    "event_references",
    "is_server_event_id",
    "new_server_event_id",
    "prev_event_ids",
    "sort_by_auth",
    "sort_by_prev",
]


def _reference_ids(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    ids: list[str] = []
    for item in value:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            ids.append(item[0])
    return ids


def auth_event_ids(pdu: JsonDict, room_version: RoomVersion | None = None) -> list[str]:
    """The IDs in ``auth_events``, whatever the room version's format.

    Both forms are read (a pair is a list, a plain reference a string), so
    this never fails on a stored event; :func:`sceau.protocol.pdu.parse_pdu`
    is where a received PDU's format is enforced per version.
    """
    del room_version  # the form is unambiguous from the value itself
    return _reference_ids(pdu.get("auth_events"))


def prev_event_ids(pdu: JsonDict, room_version: RoomVersion | None = None) -> list[str]:
    """The IDs in ``prev_events``, whatever the room version's format."""
    del room_version
    return _reference_ids(pdu.get("prev_events"))


def event_references(event_ids: list[str], room_version: RoomVersion) -> list[Any]:
    """``auth_events``/``prev_events`` as the room version writes them.

    v1/v2 pairs carry an empty hash object, as other servers send them: the
    reference hash there is informational and nobody checks it.
    """
    if room_version.server_event_ids:
        return [[event_id, {}] for event_id in event_ids]
    return list(event_ids)


def new_server_event_id(pdu: JsonDict, origin: str, room_version: RoomVersion) -> str:
    """A fresh v1/v2 event ID for a PDU built by ``origin``.

    The opaque part is the PDU's reference hash taken before the ID is
    added, so it is unique without any randomness (the core does no I/O).
    """
    digest = compute_reference_hash({k: v for k, v in pdu.items() if k != "event_id"}, room_version)
    return f"${encode_base64(digest, urlsafe=True)}:{origin}"


def event_id_server(event_id: str) -> str | None:
    """The server part of a v1/v2 event ID, or None for a hash event ID."""
    if not is_server_event_id(event_id):
        return None
    return event_id[1:].partition(":")[2]


def sort_by_auth(events: dict[str, JsonDict]) -> list[str]:
    """The event IDs ordered so each comes after those of its ``auth_events`` in the set.

    Events fetched together (a state, an auth chain) are checked against
    their own auth events in this order, so a chain that holds together is
    accepted whole. Ties go by depth, then ID; a cycle (only a forged set can
    have one) is broken the same way rather than looping.
    """
    return _sort_by_references(events, auth_event_ids)


def sort_by_prev(events: dict[str, JsonDict]) -> list[str]:
    """The event IDs ordered so each comes after those of its ``prev_events`` in the set.

    A batch of history (``backfill``) is placed oldest first in this order,
    each event's state computed from those before it.
    """
    return _sort_by_references(events, prev_event_ids)


def _sort_by_references(
    events: dict[str, JsonDict], references: Callable[[JsonDict], list[str]]
) -> list[str]:
    waiting = {
        eid: {a for a in references(pdu) if a in events and a != eid} for eid, pdu in events.items()
    }
    cited_by: dict[str, list[str]] = {}
    for eid, needs in waiting.items():
        for aid in needs:
            cited_by.setdefault(aid, []).append(eid)

    def key(eid: str) -> tuple[int, str]:
        depth = events[eid].get("depth")
        return (depth if isinstance(depth, int) else 0, eid)

    ready = [key(eid) for eid, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    ordered: list[str] = []
    while waiting:
        if not ready:  # a cycle: take its shallowest event
            heapq.heappush(ready, min(key(eid) for eid in waiting))
        _depth, chosen = heapq.heappop(ready)
        if chosen not in waiting:
            continue
        ordered.append(chosen)
        del waiting[chosen]
        for later in cited_by.get(chosen, []):
            pending = waiting.get(later)
            if pending is not None and chosen in pending:
                pending.discard(chosen)
                if not pending:
                    heapq.heappush(ready, key(later))
    return ordered
