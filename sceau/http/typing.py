"""Typing notifications."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import forbidden
from sceau.http.app import client_routes
from sceau.http.common import get_field, json_response, read_json, requester, services


async def set_typing(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId}"""
    user = await requester(request)
    if request.path_params["user_id"] != user.user_id:
        raise forbidden("You can only set your own typing state")
    body = await read_json(request)
    typing = get_field(body, "typing", bool, required=True)
    timeout = get_field(body, "timeout", int)
    await services(request).typing.set_typing(
        user.user_id, request.path_params["room"], typing, timeout
    )
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes([("PUT", "/rooms/{room}/typing/{user_id}", set_typing)])
