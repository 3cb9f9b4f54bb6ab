"""Server-side search and the user directory."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def search(request: Request) -> Response:
    """POST /_matrix/client/v3/search"""
    user = await requester(request)
    body = await read_json(request)
    result = await services(request).search.search(
        user.user_id, user.device_id, body, request.query_params.get("next_batch") or None
    )
    return json_response(result)


async def user_directory_search(request: Request) -> Response:
    """POST /_matrix/client/v3/user_directory/search"""
    user = await requester(request)
    body = await read_json(request)
    result = await services(request).user_directory.search(
        user.user_id, body.get("search_term"), body.get("limit")
    )
    return json_response(result)


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("POST", "/search", search),
            ("POST", "/user_directory/search", user_directory_search),
        ]
    )
