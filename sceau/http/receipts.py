"""Read receipts and read markers."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def send_receipt(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId}"""
    user = await requester(request)
    body = await read_json(request, required=False)
    params = request.path_params
    await services(request).receipts.send_receipt(
        user.user_id,
        params["room"],
        params["receipt_type"],
        params["event_id"],
        body.get("thread_id"),
    )
    return json_response({})


async def read_markers(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/read_markers"""
    user = await requester(request)
    body = await read_json(request)
    await services(request).receipts.set_read_markers(
        user.user_id, request.path_params["room"], body
    )
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("POST", "/rooms/{room}/receipt/{receipt_type}/{event_id}", send_receipt),
            ("POST", "/rooms/{room}/read_markers", read_markers),
        ]
    )
