"""The local room directory (publicRooms, listing visibility) and third-party protocols."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import bad_json
from sceau.http.app import client_routes
from sceau.http.common import (
    access_token,
    get_field,
    json_response,
    query_int,
    read_json,
    requester,
    services,
)
from sceau.services.room_directory import DirectoryQuery, parse_directory_filter


async def get_public_rooms(request: Request) -> Response:
    """GET /_matrix/client/v3/publicRooms"""
    if access_token(request) is not None:
        await requester(request)
    params = request.query_params
    query = DirectoryQuery(
        limit=query_int(request, "limit", 100, minimum=0, maximum=500)
        if params.get("limit")
        else None,
        since=params.get("since") or None,
        server=params.get("server") or None,
    )
    return json_response(await services(request).room_directory.public_rooms(query))


async def post_public_rooms(request: Request) -> Response:
    """POST /_matrix/client/v3/publicRooms"""
    await requester(request)
    body = await read_json(request, required=False)
    limit = get_field(body, "limit", int)
    if limit is not None and limit < 0:
        raise bad_json("'limit' must not be negative")
    term, room_types = parse_directory_filter(body)
    query = DirectoryQuery(
        limit=None if limit is None else min(limit, 500),
        since=get_field(body, "since", str),
        search_term=term,
        room_types=room_types,
        server=request.query_params.get("server") or None,
    )
    return json_response(await services(request).room_directory.public_rooms(query))


async def get_room_visibility(request: Request) -> Response:
    """GET /_matrix/client/v3/directory/list/room/{roomId}"""
    visibility = await services(request).room_directory.visibility(request.path_params["room"])
    return json_response({"visibility": visibility})


async def put_room_visibility(request: Request) -> Response:
    """PUT /_matrix/client/v3/directory/list/room/{roomId}"""
    user = await requester(request)
    body = await read_json(request)
    visibility = get_field(body, "visibility", str, default="public")
    await services(request).room_directory.set_visibility(
        user.user_id, user.is_admin, request.path_params["room"], visibility
    )
    return json_response({})


async def thirdparty_protocols(request: Request) -> Response:
    """GET /_matrix/client/v3/thirdparty/protocols: no bridges, so no protocols."""
    await requester(request)
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("GET", "/publicRooms", get_public_rooms),
            ("POST", "/publicRooms", post_public_rooms),
            ("GET", "/directory/list/room/{room}", get_room_visibility),
            ("PUT", "/directory/list/room/{room}", put_room_visibility),
            ("GET", "/thirdparty/protocols", thirdparty_protocols),
        ]
    )
