"""Reporting content: events, rooms and users, to the server's administrators."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import get_field, json_response, read_json, requester, services


async def report_event(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/report/{eventId}"""
    user = await requester(request)
    body = await read_json(request)
    await services(request).reports.report_event(
        user.user_id,
        request.path_params["room"],
        request.path_params["event_id"],
        get_field(body, "reason", str),
        get_field(body, "score", int),
    )
    return json_response({})


async def report_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/report"""
    user = await requester(request)
    body = await read_json(request)
    await services(request).reports.report_room(
        user.user_id, request.path_params["room"], get_field(body, "reason", str, required=True)
    )
    return json_response({})


async def report_user(request: Request) -> Response:
    """POST /_matrix/client/v3/users/{userId}/report"""
    user = await requester(request)
    body = await read_json(request)
    await services(request).reports.report_user(
        user.user_id, request.path_params["user_id"], get_field(body, "reason", str, required=True)
    )
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("POST", "/rooms/{room}/report/{event_id}", report_event),
            ("POST", "/rooms/{room}/report", report_room),
            ("POST", "/users/{user_id}/report", report_user),
        ]
    )
