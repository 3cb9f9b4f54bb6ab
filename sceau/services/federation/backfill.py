"""Backfill: history from before this server joined, fetched when a client pages back.

A room joined through another server starts here at the join; the events
before it are another server's. When ``/messages`` runs out of held events
going backwards, :class:`Backfiller` asks a server in the room
(``GET /backfill``) for the events before the oldest gap, checks each (format,
signatures, content hash) and writes them below every held position, so the
client's next page simply continues into them.
"""

import logging
from typing import Any

import orjson

from sceau.protocol.auth_rules import server_name_of
from sceau.protocol.event_format import prev_event_ids
from sceau.services.federation.client import FederationRequestError, encode_path
from sceau.services.federation.missing_events import FederationRequester
from sceau.services.federation.pdu_checks import PduFormatError
from sceau.services.federation.pdu_pipeline import PduPipeline
from sceau.services.remote_rooms import RemoteRoomWriter
from sceau.storage.database import Database
from sceau.storage.state import StateStore

log = logging.getLogger(__name__)

#: How many of the room's oldest events are searched for gaps.
SCAN = 200
MAX_BACKFILL = 100


class Backfiller:
    def __init__(
        self,
        *,
        server_name: str,
        db: Database,
        client: FederationRequester,
        pipeline: PduPipeline,
        remote_rooms: RemoteRoomWriter,
        state: StateStore,
    ) -> None:
        self._me = server_name
        self._db = db
        self._client = client
        self._pipeline = pipeline
        self._remote_rooms = remote_rooms
        self._state = state

    async def gaps(self, room_id: str) -> tuple[list[str], int | None]:
        """Events cited by the room's oldest held events but not held, and their state group."""
        rows = await self._db.fetchall(
            "SELECT event_id, pdu, state_group FROM events WHERE room_id = ?"
            " ORDER BY stream_pos ASC LIMIT ?",
            room_id,
            SCAN,
        )
        held = {row[0] for row in rows}
        cited: dict[str, int] = {}
        for row in rows:
            for prev in prev_event_ids(orjson.loads(row[1])):
                if prev not in held:
                    cited.setdefault(prev, int(row[2]))
        if not cited:
            return [], None
        known = await self._db.fetchall(
            "SELECT event_id FROM events WHERE event_id IN (" + ",".join("?" * len(cited)) + ")",
            *cited,
        )
        missing = [eid for eid in cited if eid not in {r[0] for r in known}]
        return missing, (cited[missing[0]] if missing else None)

    async def backfill(self, room_id: str, wanted: int) -> bool:
        """Fetch up to ``wanted`` events before the room's oldest gap; True if any came."""
        missing, group = await self.gaps(room_id)
        if not missing or group is None:
            return False
        servers = {server_name_of(m) for m in await self._state.members(room_id)} - {self._me}
        for server in sorted(servers):
            try:
                answer = await self._client.request(
                    "GET",
                    server,
                    encode_path("/_matrix/federation/v1/backfill/{}", room_id),
                    query={"v": missing[:20], "limit": str(min(wanted, MAX_BACKFILL))},
                )
            except FederationRequestError as exc:
                log.info("backfill of %s from %s failed: %s", room_id, server, exc)
                continue
            pdus = answer.get("pdus") if isinstance(answer, dict) else None
            if not isinstance(pdus, list):
                continue
            events = await self._checked(pdus, room_id)
            if events:
                await self._remote_rooms.write_backfill(room_id, events, group)
                return True
        return False

    async def _checked(self, pdus: list[Any], room_id: str) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for raw in pdus[:MAX_BACKFILL]:
            try:
                _version, event_id, pdu = await self._pipeline.check(raw)
            except PduFormatError as exc:
                log.info("backfilled event refused: %s", exc)
                continue
            if pdu.get("room_id") == room_id:
                found.append((event_id, pdu))
        return found
