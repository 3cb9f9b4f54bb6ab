"""Presence status."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import missing_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def get_status(request: Request) -> Response:
    """GET /_matrix/client/v3/presence/{userId}/status"""
    user = await requester(request)
    result = await services(request).presence.get_status(
        user.user_id, request.path_params["user_id"]
    )
    return json_response(result)


async def set_status(request: Request) -> Response:
    """PUT /_matrix/client/v3/presence/{userId}/status"""
    user = await requester(request)
    body = await read_json(request)
    if "presence" not in body:
        raise missing_param("presence")
    await services(request).presence.set_status(
        user.user_id, request.path_params["user_id"], body["presence"], body.get("status_msg")
    )
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("GET", "/presence/{user_id}/status", get_status),
            ("PUT", "/presence/{user_id}/status", set_status),
        ]
    )
