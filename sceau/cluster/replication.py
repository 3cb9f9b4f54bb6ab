"""Handing a room's sends to the process that writes the room.

Each room has one writer among the ``event_writer`` instances (``main`` when
there is none), chosen by a stable hash of the room ID, so its group commit
and its in-memory head, state and newest events stay right. A send that
arrives elsewhere is forwarded over the writer's private replication
listener, authenticated by the deployment's shared secret. The writer's
answer (an event ID or a Matrix error) goes back to the client unchanged; if
the writer cannot be reached the client gets a 503 to retry, and since a
client send carries its transaction ID, a retry is never written twice.
"""

import hashlib
import hmac
import logging
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
from sceau.services.event_types import EventSpec
from sceau.services.events import EventService

log = logging.getLogger("sceau.cluster")

SEND_PATH = "/_sceau/replication/v1/send_event"


def room_writer(room_id: str, writers: list[str]) -> str:
    """The instance that writes ``room_id``: the same answer in every process."""
    digest = hashlib.sha256(room_id.encode()).digest()
    return writers[int.from_bytes(digest[:8], "big") % len(writers)]


class ReplicationClient:
    """This process's view of who writes which room; forwards the others' sends."""

    def __init__(self, name: str, workers: WorkersConfig, timeout_s: float = 60.0) -> None:
        self._name = name
        self._writers = workers.event_writers()
        self._urls = {
            writer: f"http://{workers.instances[writer].bind_address}:"
            f"{workers.instances[writer].replication_port}"
            for writer in self._writers
        }
        secret = workers.replication_secret or ""
        self._http = httpx.AsyncClient(
            timeout=timeout_s, headers={"Authorization": f"Bearer {secret}"}
        )

    def owns(self, room_id: str) -> bool:
        return room_writer(room_id, self._writers) == self._name

    async def send(self, room_id: str, spec: EventSpec) -> str:
        if spec.countersign is not None:
            raise MatrixError(
                501, "M_UNKNOWN", "Inviting a remote user is not yet possible across workers"
            )
        url = self._urls[room_writer(room_id, self._writers)] + SEND_PATH
        body = {
            "room_id": room_id,
            "type": spec.event_type,
            "content": spec.content,
            "sender": spec.sender,
            "state_key": spec.state_key,
            "redacts": spec.redacts,
            "txn": list(spec.txn) if spec.txn is not None else None,
        }
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
        return str(answer["event_id"])

    async def close(self) -> None:
        await self._http.aclose()


def replication_app(events: EventService, secret: str) -> ASGIApp:
    """The private listener: other processes' sends to the rooms this one writes."""
    expected = f"Bearer {secret}".encode()

    async def send_event(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _json({"errcode": "M_FORBIDDEN", "error": "Bad replication secret"}, 403)
        body = orjson.loads(await request.body())
        spec = EventSpec(
            event_type=body["type"],
            content=body["content"],
            sender=body["sender"],
            state_key=body["state_key"],
            redacts=body["redacts"],
            txn=tuple(body["txn"]) if body["txn"] is not None else None,  # type: ignore[arg-type]
        )
        try:
            event_id = await events.send(body["room_id"], spec)
        except MatrixError as exc:
            return _json(exc.to_json(), exc.status)
        except Exception as exc:
            if not backend_unavailable(exc):
                raise
            log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            return _json({"errcode": "M_UNKNOWN", "error": "Database unavailable; retry"}, 503)
        return _json({"event_id": event_id}, 200)

    return Starlette(routes=[Route(SEND_PATH, send_event, methods=["POST"])])


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
