"""Handing a room's writes to the process that writes the room.

Each room has one writer among the ``event_writer`` instances (``main`` when
there is none), chosen by a stable hash of the room ID, so its group commit
and its in-memory head, state and newest events stay right. A write that
arrives elsewhere is forwarded over the writer's private replication
listener, authenticated by the deployment's shared secret:

- a local send (``send_event``), an invite of a remote user included: the
  writer makes the round trip that has the invitee's server countersign it;
- an event received over federation, once the checks that need no room
  state have passed where it arrived (``receive_event``);
- what a room held elsewhere brings (``remote_room``): a remote join's state
  and join, a remote invite or its rejection, backfilled history.

The writer's answer (an event ID, a refusal or a Matrix error) goes back to
the caller unchanged; if the writer cannot be reached the client gets a 503
to retry, and since a client send carries its transaction ID, a retry is
never written twice.
"""

import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sceau.config import WorkersConfig
from sceau.errors import MatrixError, backend_unavailable
from sceau.protocol.room_versions import RoomVersion, get_room_version
from sceau.protocol.types import JsonDict, StateKey
from sceau.services.event_graph import ReceivedEvent
from sceau.services.event_types import ClientTxn, EventSpec
from sceau.services.events import EventService, PduRefused
from sceau.services.remote_rooms import Backfilled, RemoteRoomWriter

log = logging.getLogger("sceau.cluster")

PREFIX = "/_sceau/replication/v1"
SEND_PATH = PREFIX + "/send_event"
RECEIVE_PATH = PREFIX + "/receive_event"
REMOTE_ROOM_PATH = PREFIX + "/remote_room"

#: How the writer has another server countersign an invite: (room_id, event_id, pdu).
InviteCountersigner = Callable[[str, str, JsonDict], Awaitable[JsonDict]]


def room_writer(room_id: str, writers: list[str]) -> str:
    """The instance that writes ``room_id``: the same answer in every process."""
    digest = hashlib.sha256(room_id.encode()).digest()
    return writers[int.from_bytes(digest[:8], "big") % len(writers)]


class ReplicationClient:
    """This process's view of who writes which room; forwards the others' writes."""

    def __init__(
        self,
        name: str,
        workers: WorkersConfig,
        timeout_s: float = 60.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._name = name
        self._writers = workers.event_writers()
        self._urls = {
            writer: f"http://{workers.instances[writer].bind_address}:"
            f"{workers.instances[writer].replication_port}"
            for writer in self._writers
        }
        secret = workers.replication_secret or ""
        self._http = http or httpx.AsyncClient(timeout=timeout_s)
        self._http.headers["Authorization"] = f"Bearer {secret}"

    def owns(self, room_id: str) -> bool:
        return room_writer(room_id, self._writers) == self._name

    async def send(self, room_id: str, spec: EventSpec) -> str:
        body = {
            "room_id": room_id,
            "type": spec.event_type,
            "content": spec.content,
            "sender": spec.sender,
            "state_key": spec.state_key,
            "redacts": spec.redacts,
            "txn": dataclasses.asdict(spec.txn) if spec.txn is not None else None,
            # Only an invite of a remote user is countersigned: the writer does it.
            "countersign_invite": spec.countersign is not None,
        }
        answer = await self._post(room_id, SEND_PATH, body)
        return str(answer["event_id"])

    async def receive(self, room_id: str, received: ReceivedEvent) -> str:
        body = {
            "room_id": room_id,
            "event_id": received.event_id,
            "pdu": received.pdu,
            "origin": received.origin,
            "fetched_states": [_state_rows(state) for state in received.fetched_states],
        }
        answer = await self._post(room_id, RECEIVE_PATH, body)
        refused = answer.get("refused")
        if refused is not None:
            raise PduRefused(str(refused[0]), str(refused[1]))
        return str(answer["event_id"])

    async def join_remote_room(
        self,
        room_id: str,
        version: RoomVersion,
        origin: str,
        state: dict[str, JsonDict],
        auth_chain: dict[str, JsonDict],
        join_id: str,
        join: JsonDict,
    ) -> None:
        args = {
            "version": version.identifier,
            "origin": origin,
            "state": state,
            "auth_chain": auth_chain,
            "join_id": join_id,
            "join": join,
        }
        await self._remote_room(room_id, "join", args)

    async def store_membership(
        self,
        room_id: str,
        version: RoomVersion,
        event_id: str,
        pdu: JsonDict,
        origin: str,
        stripped_state: list[Any] | None = None,
    ) -> None:
        args = {
            "version": version.identifier,
            "event_id": event_id,
            "pdu": pdu,
            "origin": origin,
            "stripped_state": stripped_state,
        }
        await self._remote_room(room_id, "membership", args)

    async def write_backfill(self, room_id: str, placed: list[Backfilled]) -> None:
        rows = [[p.event_id, p.pdu, _state_rows(p.state_before)] for p in placed]
        await self._remote_room(room_id, "backfill", {"placed": rows})

    async def _remote_room(self, room_id: str, op: str, args: dict[str, Any]) -> None:
        await self._post(room_id, REMOTE_ROOM_PATH, {"room_id": room_id, "op": op, **args})

    async def _post(self, room_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the room's writer; its Matrix error is raised here as it was there."""
        url = self._urls[room_writer(room_id, self._writers)] + path
        try:
            response = await self._http.post(url, content=orjson.dumps(body))
        except httpx.HTTPError as exc:
            raise MatrixError(
                503, "M_UNKNOWN", f"The room's writer cannot be reached ({type(exc).__name__})"
            ) from exc
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise MatrixError(502, "M_UNKNOWN", "The room's writer gave no answer; retry") from None
        if response.status_code != 200:
            raise MatrixError(
                response.status_code,
                answer.get("errcode", "M_UNKNOWN"),
                answer.get("error", "The room's writer refused the event"),
                **{k: v for k, v in answer.items() if k not in ("errcode", "error")},
            )
        return dict(answer)

    async def close(self) -> None:
        await self._http.aclose()


def _state_rows(state: dict[StateKey, str]) -> list[list[str]]:
    return [
        [event_type, state_key, event_id] for (event_type, state_key), event_id in state.items()
    ]


def _state_map(rows: list[list[str]]) -> dict[StateKey, str]:
    return {(event_type, state_key): event_id for event_type, state_key, event_id in rows}


def _version(identifier: str) -> RoomVersion:
    version = get_room_version(identifier)
    if version is None:
        raise MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION", f"Unknown room version {identifier}")
    return version


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def replication_app(
    events: EventService,
    secret: str,
    remote_rooms: RemoteRoomWriter | None = None,
    countersign_invite: InviteCountersigner | None = None,
) -> ASGIApp:
    """The private listener: other processes' writes to the rooms this one writes."""
    expected = f"Bearer {secret}".encode()

    async def send_event(body: dict[str, Any]) -> dict[str, Any]:
        room_id = body["room_id"]
        countersign = None
        if body.get("countersign_invite"):
            if countersign_invite is None:
                raise MatrixError(
                    403, "M_FORBIDDEN", "Federation with other servers is not enabled"
                )

            async def countersign(event_id: str, pdu: JsonDict) -> JsonDict:
                assert countersign_invite is not None
                return await countersign_invite(room_id, event_id, pdu)

        spec = EventSpec(
            event_type=body["type"],
            content=body["content"],
            sender=body["sender"],
            state_key=body["state_key"],
            redacts=body["redacts"],
            txn=ClientTxn(**body["txn"]) if body["txn"] is not None else None,
            countersign=countersign,
        )
        return {"event_id": await events.send(room_id, spec)}

    async def receive_event(body: dict[str, Any]) -> dict[str, Any]:
        received = ReceivedEvent(
            body["event_id"],
            body["pdu"],
            body["origin"],
            tuple(_state_map(rows) for rows in body["fetched_states"]),
        )
        try:
            return {"event_id": await events.receive(body["room_id"], received)}
        except PduRefused as exc:
            return {"refused": [exc.outcome, exc.reason]}

    async def remote_room(body: dict[str, Any]) -> dict[str, Any]:
        if remote_rooms is None:
            raise MatrixError(403, "M_FORBIDDEN", "Federation with other servers is not enabled")
        room_id, op = body["room_id"], body["op"]
        if op == "join":
            await remote_rooms.join_remote_room(
                room_id,
                _version(body["version"]),
                body["origin"],
                body["state"],
                body["auth_chain"],
                body["join_id"],
                body["join"],
            )
        elif op == "membership":
            await remote_rooms.store_membership(
                room_id,
                _version(body["version"]),
                body["event_id"],
                body["pdu"],
                body["origin"],
                body["stripped_state"],
            )
        elif op == "backfill":
            placed = [Backfilled(eid, pdu, _state_map(rows)) for eid, pdu, rows in body["placed"]]
            await remote_rooms.write_backfill(room_id, placed)
        else:
            raise MatrixError(400, "M_UNRECOGNIZED", f"Unknown remote room operation {op!r}")
        return {}

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _json({"errcode": "M_FORBIDDEN", "error": "Bad replication secret"}, 403)
            try:
                return _json(await handler(orjson.loads(await request.body())), 200)
            except MatrixError as exc:
                return _json(exc.to_json(), exc.status)
            except Exception as exc:
                if not backend_unavailable(exc):
                    raise
                log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
                return _json({"errcode": "M_UNKNOWN", "error": "Database unavailable; retry"}, 503)

        return run

    return Starlette(
        routes=[
            Route(SEND_PATH, endpoint(send_event), methods=["POST"]),
            Route(RECEIVE_PATH, endpoint(receive_event), methods=["POST"]),
            Route(REMOTE_ROOM_PATH, endpoint(remote_room), methods=["POST"]),
        ]
    )


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
