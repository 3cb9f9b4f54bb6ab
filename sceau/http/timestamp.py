"""Jumping to a date: the closest event to a timestamp (client API v1)."""

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import invalid_param, missing_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, requester, services

V1 = ("/_matrix/client/v1",)
_INT64 = range(-(2**63), 2**63)
_INTEGER = re.compile(r"-?[0-9]{1,20}")


async def timestamp_to_event(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event"""
    user = await requester(request)
    ts = _timestamp(request.query_params.get("ts"))
    direction = request.query_params.get("dir")
    if direction is None:
        raise missing_param("dir")
    if direction not in ("f", "b"):
        raise invalid_param("'dir' must be 'f' or 'b'")
    found = await services(request).timeline.event_at_timestamp(
        user.user_id, request.path_params["room"], ts, forwards=direction == "f"
    )
    return json_response(found)


def _timestamp(raw: str | None) -> int:
    if raw is None:
        raise missing_param("ts")
    if not _INTEGER.fullmatch(raw):
        raise invalid_param("'ts' must be an integer (milliseconds since the epoch)")
    value = int(raw)
    if value not in _INT64:
        raise invalid_param("'ts' is out of range")
    return value


def routes() -> list[BaseRoute]:
    return client_routes([("GET", "/rooms/{room}/timestamp_to_event", timestamp_to_event)], V1)
