"""Relations and threads (client API v1)."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import invalid_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, query_bool, query_int, requester, services

V1 = ("/_matrix/client/v1",)


async def relations(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]"""
    user = await requester(request)
    direction = request.query_params.get("dir", "b")
    if direction not in ("b", "f"):
        raise invalid_param("'dir' must be 'b' or 'f'")
    params = request.path_params
    result = await services(request).relations.relations(
        user.user_id,
        user.device_id,
        params["room"],
        params["event_id"],
        rel_type=params.get("rel_type"),
        event_type=params.get("event_type"),
        from_token=request.query_params.get("from") or None,
        to_token=request.query_params.get("to") or None,
        limit=query_int(request, "limit", 5, minimum=1, maximum=100),
        backwards=direction == "b",
        recurse=query_bool(request, "recurse"),
    )
    return json_response(result)


async def threads(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/threads"""
    user = await requester(request)
    result = await services(request).relations.threads(
        user.user_id,
        user.device_id,
        request.path_params["room"],
        include=request.query_params.get("include", "all"),
        from_token=request.query_params.get("from") or None,
        limit=query_int(request, "limit", 5, minimum=1, maximum=100),
    )
    return json_response(result)


def routes() -> list[BaseRoute]:
    base = "/rooms/{room}/relations/{event_id}"
    return client_routes(
        [
            ("GET", base, relations),
            ("GET", base + "/{rel_type}", relations),
            ("GET", base + "/{rel_type}/{event_type}", relations),
            ("GET", "/rooms/{room}/threads", threads),
        ],
        V1,
    )
