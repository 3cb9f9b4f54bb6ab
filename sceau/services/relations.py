"""Relations: /relations, /threads and the aggregations bundled into served events.

Bundling runs inside :meth:`EventFormatter.format` for every batch of events a
client receives, so it must stay cheap: one query finds which of the events
have children at all, and only the kinds of relation present are then read,
each for the whole batch at once.
"""

from typing import Any

from sceau.errors import invalid_param, not_found
from sceau.services.formatting import EventFormatter
from sceau.services.room_state import RoomStateService
from sceau.services.tokens import parse_position, position_token
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.relations import MAX_RECURSION_DEPTH, RelationStore
from sceau.storage.state import StateStore


class RelationService:
    def __init__(
        self,
        *,
        relations: RelationStore,
        events: EventStore,
        state: StateStore,
        room_state: RoomStateService,
        formatter: EventFormatter,
    ) -> None:
        self._relations = relations
        self._events = events
        self._state = state
        self._room_state = room_state
        self._formatter = formatter

    # ------------------------------------------------------------ bundling

    async def bundled_aggregations(
        self, event_ids: list[str], viewer: str | None
    ) -> dict[str, dict[str, Any]]:
        """event_id -> ``unsigned["m.relations"]`` for the events that have any."""
        kinds = await self._relations.relation_kinds(event_ids)
        if not kinds:
            return {}
        with_kind = {
            kind: [eid for eid in event_ids if kind in kinds.get(eid, ())]
            for kind in ("m.replace", "m.thread", "m.reference")
        }
        threads = (
            await self._relations.thread_summaries(with_kind["m.thread"], viewer)
            if with_kind["m.thread"]
            else {}
        )
        latest = await self._relations.events_at([t.latest_pos for t in threads.values()])
        edit_parents = with_kind["m.replace"] + [e.event_id for e in latest.values()]
        edits = await self._relations.latest_edits(edit_parents) if edit_parents else {}
        references = (
            await self._relations.references(with_kind["m.reference"])
            if with_kind["m.reference"]
            else {}
        )
        served = await self._formatter.format(
            [*edits.values(), *latest.values()], viewer, bundle_relations=False
        )
        by_id = {event["event_id"]: event for event in served}
        result: dict[str, dict[str, Any]] = {}
        for parent_id, edit in edits.items():
            if edit.event_id in by_id:
                result.setdefault(parent_id, {})["m.replace"] = by_id[edit.event_id]
        for root_id, summary in threads.items():
            event = latest.get(summary.latest_pos)
            if event is None or event.event_id not in by_id:
                continue
            latest_event = dict(by_id[event.event_id])
            if event.event_id in result:
                latest_event["unsigned"] = {
                    **latest_event["unsigned"],
                    "m.relations": result.pop(event.event_id),
                }
            result.setdefault(root_id, {})["m.thread"] = {
                "latest_event": latest_event,
                "count": summary.count,
                "current_user_participated": summary.participated,
            }
        for parent_id, ids in references.items():
            result.setdefault(parent_id, {})["m.reference"] = {
                "chunk": [{"event_id": eid} for eid in ids]
            }
        wanted = set(event_ids)
        return {eid: rel for eid, rel in result.items() if eid in wanted}

    # ----------------------------------------------------------- /relations

    async def relations(
        self,
        user_id: str,
        device_id: str | None,
        room_id: str,
        parent_id: str,
        *,
        rel_type: str | None,
        event_type: str | None,
        from_token: str | None,
        to_token: str | None,
        limit: int,
        backwards: bool,
        recurse: bool,
    ) -> dict[str, Any]:
        """GET /relations: children of a visible event, newest first by default."""
        await self._visible_event(user_id, room_id, parent_id)
        start = parse_position(from_token) if from_token else None
        stop = parse_position(to_token) if to_token else None
        if backwards:
            after, before = stop, None if start is None else start + 1
        else:
            after, before = start, None if stop is None else stop + 1
        rows = await self._relations.children(
            room_id,
            parent_id,
            rel_type=rel_type,
            event_type=event_type,
            after=after,
            before=before,
            limit=limit + 1,
            newest_first=backwards,
            recurse=recurse,
        )
        page = rows[:limit]
        visible = await self._room_state.filter_visible(user_id, page)
        response: dict[str, Any] = {
            "chunk": await self._formatter.format(visible, user_id, device_id)
        }
        if len(rows) > limit and page:
            last = page[-1].stream_pos
            response["next_batch"] = position_token(last - 1 if backwards else last)
        if from_token:
            response["prev_batch"] = from_token
        if recurse:
            response["recursion_depth"] = MAX_RECURSION_DEPTH
        return response

    async def _visible_event(self, user_id: str, room_id: str, event_id: str) -> StoredEvent:
        event = await self._events.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise not_found("Event not found")
        await self._require_access(user_id, room_id)
        if not await self._room_state.filter_visible(user_id, [event]):
            raise not_found("Event not found")
        return event

    async def _require_access(self, user_id: str, room_id: str) -> None:
        if await self._state.membership(room_id, user_id) is None:
            await self._room_state.require_room(room_id)
            await self._room_state.viewable_state_ids(user_id, room_id)

    # -------------------------------------------------------------- /threads

    async def threads(
        self,
        user_id: str,
        device_id: str | None,
        room_id: str,
        *,
        include: str,
        from_token: str | None,
        limit: int,
    ) -> dict[str, Any]:
        """GET /threads: thread roots, the most recently active first."""
        if include not in ("all", "participated"):
            raise invalid_param("'include' must be 'all' or 'participated'")
        await self._require_access(user_id, room_id)
        before = parse_position(from_token) + 1 if from_token else None
        rows = await self._relations.threads(
            room_id,
            before=before,
            limit=limit + 1,
            participant=user_id if include == "participated" else None,
        )
        page = rows[:limit]
        roots = await self._events.get_events([root_id for root_id, _ in page])
        ordered = [roots[root_id] for root_id, _ in page if root_id in roots]
        visible = await self._room_state.filter_visible(user_id, ordered)
        response: dict[str, Any] = {
            "chunk": await self._formatter.format(visible, user_id, device_id)
        }
        if len(rows) > limit and page:
            response["next_batch"] = position_token(page[-1][1] - 1)
        return response
