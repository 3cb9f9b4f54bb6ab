"""Synapse-compatible admin API for rooms and event reports (read-only).

Shapes follow Synapse's ``docs/admin_api/rooms.md`` and ``event_reports.md``.
Pagination is by offset; ``next_batch``/``next_token`` appear only when more
remain. Report IDs are Sceau's own opaque strings, not Synapse's integers.
"""

from typing import Any

from sceau.errors import invalid_param, not_found
from sceau.services.admin_users import require_admin
from sceau.services.auth import Requester
from sceau.storage.admin import AdminStore, RoomQuery, RoomRow
from sceau.storage.events import EventStore
from sceau.storage.reports import Report, ReportStore
from sceau.storage.state import StateStore

JsonDict = dict[str, Any]


class AdminRoomService:
    def __init__(
        self,
        *,
        admin_store: AdminStore,
        reports: ReportStore,
        events: EventStore,
        state: StateStore,
    ) -> None:
        self._store = admin_store
        self._reports = reports
        self._events = events
        self._state = state

    async def list_rooms(self, requester: Requester, query: RoomQuery) -> JsonDict:
        require_admin(requester)
        rooms, total = await self._store.rooms(query)
        body: JsonDict = {
            "rooms": [_room_json(room) for room in rooms],
            "offset": query.offset,
            "total_rooms": total,
        }
        if query.offset + len(rooms) < total:
            body["next_batch"] = query.offset + len(rooms)
        if query.offset > 0:
            body["prev_batch"] = max(0, query.offset - query.limit)
        return body

    async def room(self, requester: Requester, room_id: str) -> JsonDict:
        require_admin(requester)
        room = await self._existing(room_id)
        return {
            **_room_json(room),
            "topic": room.topic,
            "avatar": room.avatar,
            "forgotten": False,
        }

    async def members(self, requester: Requester, room_id: str) -> JsonDict:
        require_admin(requester)
        await self._existing(room_id)
        members = sorted(await self._state.members(room_id))
        return {"members": members, "total": len(members)}

    async def event_reports(
        self, requester: Requester, offset: int, limit: int, newest_first: bool
    ) -> JsonDict:
        require_admin(requester)
        reports, total = await self._reports.event_reports(offset, limit, newest_first)
        rooms = {r.room_id: await self._store.room(r.room_id) for r in reports if r.room_id}
        body: JsonDict = {
            "event_reports": [_report_json(r, rooms.get(r.room_id or "")) for r in reports],
            "total": total,
        }
        if offset + len(reports) < total:
            body["next_token"] = offset + len(reports)
        return body

    async def event_report(self, requester: Requester, report_id: str) -> JsonDict:
        """One event report with the reported event as stored (``event_json``)."""
        require_admin(requester)
        report = await self._reports.get(report_id)
        if report is None or report.kind != "event":
            raise not_found("Event report not found")
        room = await self._store.room(report.room_id) if report.room_id else None
        event = await self._events.get_event(report.event_id) if report.event_id else None
        return {**_report_json(report, room), "event_json": event.pdu if event else None}

    async def _existing(self, room_id: str) -> RoomRow:
        if not room_id.startswith("!"):
            raise invalid_param("Invalid room ID")
        room = await self._store.room(room_id)
        if room is None:
            raise not_found("Room not found")
        return room


def _room_json(room: RoomRow) -> JsonDict:
    return {
        "room_id": room.room_id,
        "name": room.name,
        "canonical_alias": room.canonical_alias,
        "joined_members": room.joined_members,
        "joined_local_members": room.joined_local_members,
        "version": room.version,
        "creator": room.creator,
        "encryption": room.encryption,
        # Sceau federates only among ministries, but never marks rooms m.federate=false.
        "federatable": True,
        "public": room.public,
        "join_rules": room.join_rules,
        "guest_access": room.guest_access,
        "history_visibility": room.history_visibility,
        "state_events": room.state_events,
        "room_type": room.room_type,
    }


def _report_json(report: Report, room: RoomRow | None) -> JsonDict:
    return {
        "id": report.report_id,
        "event_id": report.event_id,
        "reason": report.reason,
        "score": report.score,
        "received_ts": report.received_ts,
        "room_id": report.room_id,
        "name": room.name if room else None,
        "canonical_alias": room.canonical_alias if room else None,
        "sender": report.target_user_id,
        "user_id": report.reporter_id,
    }
