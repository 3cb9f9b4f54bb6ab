"""Room upgrades."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def upgrade_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/upgrade"""
    user = await requester(request)
    body = await read_json(request)
    new_room = await services(request).upgrades.upgrade(
        user.user_id,
        request.path_params["room"],
        body.get("new_version"),
        body.get("additional_creators"),
    )
    return json_response({"replacement_room": new_room})


def routes() -> list[BaseRoute]:
    return client_routes([("POST", "/rooms/{room}/upgrade", upgrade_room)])
