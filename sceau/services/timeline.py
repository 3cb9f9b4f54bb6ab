"""Reading a room's history: /messages, /context and single events."""

from typing import Any

from sceau.errors import MatrixError, forbidden, not_found
from sceau.protocol.filters import RoomEventFilter
from sceau.services.formatting import EventFormatter
from sceau.services.room_state import RoomStateService
from sceau.services.state_history import DEEP_HISTORY
from sceau.services.tokens import parse_position, position_token
from sceau.storage.events import EventStore, StoredEvent
from sceau.storage.state import StateStore

MAX_SCAN_BATCHES = 10
#: timestamp_to_event looks at events in batches of this size, at most
#: MAX_SCAN_BATCHES of them, for the first one the user may see.
TIMESTAMP_BATCH = 200


def _keeps_everything(event_filter: RoomEventFilter) -> bool:
    """Whether the filter lets every event of the room through."""
    f = event_filter
    return (
        f.types is None
        and not f.not_types
        and f.senders is None
        and not f.not_senders
        and f.rooms is None
        and not f.not_rooms
        and f.contains_url is None
    )


class TimelineService:
    def __init__(
        self,
        *,
        events: EventStore,
        state: StateStore,
        room_state: RoomStateService,
        formatter: EventFormatter,
        current_position: Any,
    ) -> None:
        self._events = events
        self._state = state
        self._room_state = room_state
        self._formatter = formatter
        self._current_position = current_position
        #: Fetches older history from other servers when paging runs out (room, count) -> got any.
        self.backfill: Any = None

    async def _require_access(self, user_id: str, room_id: str) -> str | None:
        """Raise unless the user may read the room; return their current membership."""
        membership = await self._state.membership(room_id, user_id)
        if membership is None:
            await self._room_state.require_room(room_id)
            await self._room_state.viewable_state_ids(user_id, room_id)
        return membership

    async def messages(
        self,
        user_id: str,
        device_id: str | None,
        room_id: str,
        *,
        from_token: str | None,
        to_token: str | None,
        backwards: bool,
        limit: int,
        event_filter: RoomEventFilter,
    ) -> dict[str, Any]:
        """GET /messages: a page of events in either direction, with its end token."""
        membership = await self._require_access(user_id, room_id)
        # Without a filter every event read is served: read only one page of them.
        batch_size = limit if _keeps_everything(event_filter) else limit * 2 + 10
        if from_token is None:
            start = self._current_position() if backwards else 0
        else:
            start = parse_position(from_token)
        stop = parse_position(to_token) if to_token else None
        chunk: list[StoredEvent] = []
        cursor = start
        exhausted = False
        backfilled = False
        for _ in range(MAX_SCAN_BATCHES):
            if backwards:
                batch = await self._events.room_events(
                    room_id, before=cursor + 1, after=stop, limit=batch_size, newest_first=True
                )
            else:
                batch = await self._events.room_events(
                    room_id,
                    after=cursor,
                    before=None if stop is None else stop + 1,
                    limit=batch_size,
                    newest_first=False,
                )
            if backwards and self.backfill is not None and not backfilled:
                # Paging back past the held timeline (into nothing, or into the
                # state a remote join brought): fetch older history once.
                shallow = [e for e in batch if e.stream_pos > DEEP_HISTORY]
                if not shallow:
                    backfilled = True
                    if await self.backfill(room_id, limit - len(chunk)):
                        continue
                else:
                    batch = shallow
            if not batch:
                exhausted = True
                break
            for event in batch:
                cursor = event.stream_pos - 1 if backwards else event.stream_pos
                if event_filter.matches(event.pdu):
                    chunk.append(event)
                    if len(chunk) >= limit:
                        break
            if len(chunk) >= limit:
                break
        chunk = await self._room_state.filter_visible(user_id, chunk, membership)
        formatted = await self._formatter.format(chunk, user_id, device_id)
        response: dict[str, Any] = {
            "start": from_token or position_token(start),
            "chunk": formatted,
        }
        if not exhausted and chunk:
            response["end"] = position_token(cursor)
        if event_filter.lazy_load_members and chunk:
            response["state"] = await self._member_state(user_id, room_id, chunk)
        return response

    async def _member_state(
        self, user_id: str, room_id: str, chunk: list[StoredEvent]
    ) -> list[dict[str, Any]]:
        senders = {event.sender for event in chunk}
        state = await self._state.current_state_ids(room_id, ["m.room.member"])
        wanted = [state[("m.room.member", s)] for s in senders if ("m.room.member", s) in state]
        found = await self._events.get_events(wanted)
        return await self._formatter.format(list(found.values()), user_id, bundle_relations=False)

    async def event(
        self, user_id: str, device_id: str | None, room_id: str, event_id: str
    ) -> dict[str, Any]:
        """GET /rooms/{roomId}/event/{eventId}."""
        event = await self._events.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise not_found("Event not found")
        await self._require_access(user_id, room_id)
        if not await self._room_state.filter_visible(user_id, [event]):
            raise not_found("Event not found")
        return await self._formatter.format_one(event, user_id, device_id)

    async def context(
        self,
        user_id: str,
        device_id: str | None,
        room_id: str,
        event_id: str,
        limit: int,
        event_filter: RoomEventFilter,
    ) -> dict[str, Any]:
        """GET /context: the event, some before and after, and the state at it."""
        event = await self._events.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise not_found("Event not found")
        await self._require_access(user_id, room_id)
        if not await self._room_state.filter_visible(user_id, [event]):
            raise forbidden("You may not see this event")
        half_before = limit // 2
        half_after = limit - half_before
        before = await self._events.room_events(
            room_id, before=event.stream_pos, limit=half_before, newest_first=True
        )
        after = await self._events.room_events(
            room_id, after=event.stream_pos, limit=half_after, newest_first=False
        )
        before = [e for e in before if event_filter.matches(e.pdu)]
        after = [e for e in after if event_filter.matches(e.pdu)]
        before = await self._room_state.filter_visible(user_id, before)
        after = await self._room_state.filter_visible(user_id, after)
        state_ids = await self._state.get_state_ids(event.state_group)
        if event_filter.lazy_load_members:
            senders = {e.sender for e in [event, *before, *after]}
            state_ids = {
                k: v for k, v in state_ids.items() if k[0] != "m.room.member" or k[1] in senders
            }
        state_events = await self._events.get_events(state_ids.values())
        fmt = self._formatter
        return {
            "event": await fmt.format_one(event, user_id, device_id),
            "events_before": await fmt.format(before, user_id, device_id),
            "events_after": await fmt.format(after, user_id, device_id),
            "start": position_token((before[-1].stream_pos if before else event.stream_pos) - 1),
            "end": position_token(after[-1].stream_pos if after else event.stream_pos),
            "state": await fmt.format(
                sorted(state_events.values(), key=lambda e: e.stream_pos),
                user_id,
                bundle_relations=False,
            ),
        }

    async def event_at_timestamp(
        self, user_id: str, room_id: str, ts: int, forwards: bool
    ) -> dict[str, Any]:
        """GET /timestamp_to_event: the closest event to ``ts`` the user may see.

        Who may ask is who may read /messages, except that an unknown room is
        403 like a room one is not in, so the answer does not tell them
        apart. Hidden events are skipped; after MAX_SCAN_BATCHES batches of
        them the answer is 404, which bounds the work one request can ask for.
        """
        await self._require_access_or_forbidden(user_id, room_id)
        cursor: tuple[int, int] | None = None
        for _ in range(MAX_SCAN_BATCHES):
            batch = await self._events.nearest_to_timestamp(
                room_id, ts, forwards=forwards, limit=TIMESTAMP_BATCH, cursor=cursor
            )
            visible = await self._room_state.filter_visible(user_id, batch)
            if visible:
                found = visible[0]
                return {
                    "event_id": found.event_id,
                    "origin_server_ts": int(found.pdu["origin_server_ts"]),
                }
            if len(batch) < TIMESTAMP_BATCH:
                break
            last = batch[-1]
            cursor = (int(last.pdu["origin_server_ts"]), last.stream_pos)
        direction = "forward" if forwards else "backward"
        raise not_found(f"Unable to find event from {ts} in {direction} direction")

    async def _require_access_or_forbidden(self, user_id: str, room_id: str) -> None:
        try:
            await self._require_access(user_id, room_id)
        except MatrixError as err:
            if err.status == 404:
                raise forbidden("You are not in this room") from None
            raise
