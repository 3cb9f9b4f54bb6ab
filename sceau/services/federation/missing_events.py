"""Filling gaps in a room's DAG from the server that sent an event.

When a received event cites ``prev_events`` this server does not have,
:class:`MissingEventsFetcher` asks its origin for them
(``get_missing_events``, bounded); when that does not close the gap, it asks
for the state at each missing event (``state_ids``, then ``event`` for the
events not held here) so the event can still be placed, as Synapse does.
Everything fetched passes the same format and signature checks as a PDU of
a transaction and the auth rules against its own auth events, and is kept as
an outlier until it is placed; one that fails is rejected alone and is no
part of the state it came with.
"""

import logging
from typing import Any, Protocol
from urllib.parse import quote

from sceau.protocol.room_versions import RoomVersion
from sceau.protocol.types import JsonDict, StateKey
from sceau.storage.rooms import RoomStore

log = logging.getLogger(__name__)

#: How many events get_missing_events asks for at once (Synapse asks 10).
MISSING_LIMIT = 10
#: More missing state events than this and /state is fetched whole instead.
EVENT_BY_EVENT_LIMIT = 20


class FederationRequester(Protocol):
    """The signed-request client (fedtransport's ``FederationClient``)."""

    async def request(
        self,
        method: str,
        destination: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: JsonDict | None = None,
    ) -> Any: ...


class OutlierSink(Protocol):
    """Where fetched events go to be checked, auth included (the pipeline)."""

    async def store_outliers(self, origin: str, room_id: str, raws: list[object]) -> set[str]: ...

    async def loaded(self, event_ids: list[str]) -> dict[str, JsonDict]: ...

    async def usable(self, event_ids: list[str]) -> dict[str, JsonDict]: ...


def _path(*parts: str) -> str:
    return "/".join(quote(part, safe="") for part in parts)


class MissingEventsFetcher:
    def __init__(self, *, client: FederationRequester, rooms: RoomStore) -> None:
        self._client = client
        self._rooms = rooms

    async def get_missing_events(
        self, origin: str, room_id: str, event_id: str, pdu: JsonDict
    ) -> list[JsonDict]:
        """POST /_matrix/federation/v1/get_missing_events/{roomId}, oldest first."""
        extremities = await self._rooms.forward_extremities(room_id)
        depth = pdu.get("depth")
        min_depth = max(0, min(extremities.values(), default=0) - 1)
        body = {
            "earliest_events": sorted(extremities),
            "latest_events": [event_id],
            "limit": MISSING_LIMIT,
            "min_depth": min(min_depth, depth) if isinstance(depth, int) else min_depth,
        }
        try:
            answer = await self._client.request(
                "POST",
                origin,
                "/_matrix/federation/v1/get_missing_events/" + _path(room_id),
                body=body,
            )
        except Exception as exc:  # any failure of the peer just leaves the gap
            log.info("get_missing_events from %s failed: %s", origin, exc)
            return []
        events = answer.get("events") if isinstance(answer, dict) else None
        if not isinstance(events, list):
            return []
        found = [e for e in events if isinstance(e, dict)][: MISSING_LIMIT * 2]
        return sorted(found, key=_depth)

    async def state_after(
        self, origin: str, room_id: str, event_id: str, version: RoomVersion, sink: OutlierSink
    ) -> dict[StateKey, str] | None:
        """The state after ``event_id`` per ``origin``: state_ids, plus the event itself."""
        try:
            answer = await self._client.request(
                "GET",
                origin,
                "/_matrix/federation/v1/state_ids/" + _path(room_id),
                query={"event_id": event_id},
            )
            state_ids = _ids(answer, "pdu_ids")
            auth_ids = _ids(answer, "auth_chain_ids")
            wanted = [*state_ids, *auth_ids, event_id]
            known = await sink.loaded(wanted)
            missing = [eid for eid in dict.fromkeys(wanted) if eid not in known]
            if len(missing) > EVENT_BY_EVENT_LIMIT:
                fetched = await self._fetch_whole_state(origin, room_id, event_id)
            else:
                fetched = [await self._fetch_event(origin, eid) for eid in missing]
            await sink.store_outliers(origin, room_id, [raw for raw in fetched if raw is not None])
        except Exception as exc:  # the peer's failure leaves the event without that state
            log.info("state_ids from %s at %s failed: %s", origin, event_id, exc)
            return None
        # A state event that failed its own auth events is no part of any state.
        events = await sink.usable([*state_ids, event_id])
        state: dict[StateKey, str] = {}
        for eid in state_ids:
            event = events.get(eid)
            if event is not None and isinstance(event.get("state_key"), str):
                state[(str(event["type"]), event["state_key"])] = eid
        prev = events.get(event_id)
        if prev is not None and isinstance(prev.get("state_key"), str):
            state[(str(prev["type"]), prev["state_key"])] = event_id
        return state or None

    async def fetch_auth_chain(
        self, origin: str, room_id: str, event_id: str, version: RoomVersion, sink: OutlierSink
    ) -> None:
        """GET /_matrix/federation/v1/event_auth/{roomId}/{eventId}, kept as outliers."""
        try:
            answer = await self._client.request(
                "GET", origin, "/_matrix/federation/v1/event_auth/" + _path(room_id, event_id)
            )
        except Exception as exc:  # the event is then refused for its unknown auth events
            log.info("event_auth from %s failed: %s", origin, exc)
            return
        chain = answer.get("auth_chain") if isinstance(answer, dict) else None
        if isinstance(chain, list):
            await sink.store_outliers(origin, room_id, list(chain))

    async def _fetch_event(self, origin: str, event_id: str) -> object:
        answer = await self._client.request(
            "GET", origin, "/_matrix/federation/v1/event/" + _path(event_id)
        )
        pdus = answer.get("pdus") if isinstance(answer, dict) else None
        return pdus[0] if isinstance(pdus, list) and pdus else None

    async def _fetch_whole_state(self, origin: str, room_id: str, event_id: str) -> list[object]:
        answer = await self._client.request(
            "GET",
            origin,
            "/_matrix/federation/v1/state/" + _path(room_id),
            query={"event_id": event_id},
        )
        if not isinstance(answer, dict):
            return []
        found: list[object] = []
        for key in ("auth_chain", "pdus"):
            value = answer.get(key)
            if isinstance(value, list):
                found.extend(value)
        found.append(await self._fetch_event(origin, event_id))
        return found


def _depth(event: JsonDict) -> int:
    depth = event.get("depth")
    return depth if isinstance(depth, int) else 0


def _ids(answer: object, key: str) -> list[str]:
    value = answer.get(key) if isinstance(answer, dict) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
