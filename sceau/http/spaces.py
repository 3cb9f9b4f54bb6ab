"""Spaces: the space hierarchy and room summaries (MSC2946, MSC3266)."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import (
    access_token,
    json_response,
    query_bool,
    query_int,
    requester,
    services,
)
from sceau.services.spaces import DEFAULT_LIMIT, MAX_LIMIT, HierarchyQuery

V1 = ("/_matrix/client/v1",)
#: The path matrix-js-sdk used before the API was stable.
UNSTABLE_SUMMARY = ("/_matrix/client/unstable/im.nheko.summary",)


async def get_hierarchy(request: Request) -> Response:
    """GET /_matrix/client/v1/rooms/{roomId}/hierarchy"""
    user = await requester(request)
    params = request.query_params
    query = HierarchyQuery(
        room_id=request.path_params["room"],
        suggested_only=query_bool(request, "suggested_only"),
        max_depth=query_int(request, "max_depth", 0) if params.get("max_depth") else None,
        limit=query_int(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        from_token=params.get("from") or None,
    )
    return json_response(await services(request).spaces.hierarchy(user.user_id, query))


async def get_room_summary(request: Request) -> Response:
    """GET /_matrix/client/v1/room_summary/{roomIdOrAlias}: a token is optional."""
    user_id = None
    if access_token(request) is not None:
        user_id = (await requester(request)).user_id
    summary = await services(request).spaces.room_summary(user_id, request.path_params["room"])
    return json_response(summary)


def routes() -> list[BaseRoute]:
    return [
        *client_routes([("GET", "/rooms/{room}/hierarchy", get_hierarchy)], V1),
        *client_routes([("GET", "/room_summary/{room}", get_room_summary)], V1),
        *client_routes([("GET", "/summary/{room}", get_room_summary)], UNSTABLE_SUMMARY),
    ]
