"""Serving stored events to clients: the client format plus ``unsigned``.

Everything an event needs beyond its PDU (the redaction that pruned it, the
content it replaced, the client's own transaction ID, bundled relations) is
loaded in one batch per call, never one query per event.
"""

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from sceau.clock import Clock
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.services.events import client_event
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.rooms import RoomStore
from sceau.streams import ChangeTracker

#: (event IDs, viewer user ID) -> event_id -> the ``m.relations`` object.
AggregationLoader = Callable[[list[str], str | None], Awaitable[dict[str, dict[str, Any]]]]


class EventFormatter:
    VERSION_CACHE_SIZE = 10_000

    def __init__(self, events: EventStore, rooms: RoomStore, clock: Clock) -> None:
        self._events = events
        self._rooms = rooms
        self._clock = clock
        self._versions: OrderedDict[str, RoomVersion] = OrderedDict()
        #: Set by the relations service to bundle aggregations.
        self.aggregations: AggregationLoader | None = None
        #: Set by the composition root: which events have become relation targets.
        self.relation_targets: ChangeTracker | None = None

    async def version_of(self, room_id: str) -> RoomVersion | None:
        """Room versions never change, so they are cached (bounded)."""
        version = self._versions.get(room_id)
        if version is None:
            room = await self._rooms.get_room(room_id)
            if room is None:
                return None
            version = get_room_version(room.room_version)
            if version is None:
                return None
            self._versions[room_id] = version
            if len(self._versions) > self.VERSION_CACHE_SIZE:
                self._versions.popitem(last=False)
        return version

    async def format(
        self,
        events: list[StoredEvent],
        viewer: str | None = None,
        device_id: str | None = None,
        *,
        bundle_relations: bool = True,
    ) -> list[dict[str, Any]]:
        if not events:
            return []
        now = self._clock.time_ms()
        extra_ids = [e.redacted_by for e in events if e.redacted_by]
        extra_ids += [e.replaces_state for e in events if e.replaces_state]
        extras = await self._events.get_events(extra_ids) if extra_ids else {}
        txn_ids: dict[str, str] = {}
        if viewer and device_id:
            own = [e.event_id for e in events if e.sender == viewer]
            txn_ids = await self._events.txn_ids_for(viewer, device_id, own)
        relations: dict[str, dict[str, Any]] = {}
        if bundle_relations and self.aggregations is not None:
            relations = await self.aggregations(
                [e.event_id for e in events if not e.redacted_by and self._may_have_relations(e)],
                viewer,
            )
        formatted = []
        for event in events:
            version = await self.version_of(event.room_id)
            if version is None:
                continue
            body = client_event(event.pdu, event.event_id, version)
            unsigned: dict[str, Any] = {"age": max(0, now - int(event.pdu["origin_server_ts"]))}
            if event.event_id in txn_ids:
                unsigned["transaction_id"] = txn_ids[event.event_id]
            if event.redacted_by and event.redacted_by in extras:
                redaction = extras[event.redacted_by]
                unsigned["redacted_because"] = client_event(
                    redaction.pdu, redaction.event_id, version
                )
            if event.replaces_state and event.replaces_state in extras:
                unsigned["replaces_state"] = event.replaces_state
                unsigned["prev_content"] = extras[event.replaces_state].content
                unsigned["prev_sender"] = extras[event.replaces_state].sender
            if event.event_id in relations:
                unsigned["m.relations"] = relations[event.event_id]
            body["unsigned"] = unsigned
            formatted.append(body)
        return formatted

    async def format_many(
        self,
        groups: list[list[StoredEvent]],
        viewer: str | None = None,
        device_id: str | None = None,
        *,
        bundle_relations: bool = True,
    ) -> list[list[dict[str, Any]]]:
        """Several lists (one per room) formatted with one batch of look-ups."""
        flat = [event for group in groups for event in group]
        formatted = await self.format(flat, viewer, device_id, bundle_relations=bundle_relations)
        by_id = {body["event_id"]: body for body in formatted}
        return [[by_id[e.event_id] for e in group if e.event_id in by_id] for group in groups]

    async def personalise(
        self,
        shared: list[dict[str, Any]],
        events: list[StoredEvent],
        viewer: str,
        device_id: str | None,
    ) -> list[dict[str, Any]]:
        """Events formatted for no viewer (``format(events)``), completed for this one.

        Only the events that gain a transaction ID or bundled relations are
        copied; the others are returned as they are, shared with other callers.
        """
        txn_ids: dict[str, str] = {}
        if device_id:
            own = [e.event_id for e in events if e.sender == viewer]
            if own:
                txn_ids = await self._events.txn_ids_for(viewer, device_id, own)
        relations: dict[str, dict[str, Any]] = {}
        if self.aggregations is not None:
            related = [
                e.event_id for e in events if not e.redacted_by and self._may_have_relations(e)
            ]
            if related:
                relations = await self.aggregations(related, viewer)
        if not txn_ids and not relations:
            return list(shared)
        result = []
        for body in shared:
            event_id = body["event_id"]
            if event_id in txn_ids or event_id in relations:
                body = {**body, "unsigned": dict(body["unsigned"])}
                if event_id in txn_ids:
                    body["unsigned"]["transaction_id"] = txn_ids[event_id]
                if event_id in relations:
                    body["unsigned"]["m.relations"] = relations[event_id]
            result.append(body)
        return result

    def _may_have_relations(self, event: StoredEvent) -> bool:
        """False only for events made since start-up that nothing relates to yet."""
        targets = self.relation_targets
        if targets is None or event.stream_pos <= targets.earliest:
            return True
        return targets.changed_since(event.event_id, targets.earliest)

    async def format_one(
        self, event: StoredEvent, viewer: str | None = None, device_id: str | None = None
    ) -> dict[str, Any]:
        result = await self.format([event], viewer, device_id)
        return result[0]
