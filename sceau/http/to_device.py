"""Send-to-device messaging."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import missing_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def send_to_device(request: Request) -> Response:
    """PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId}"""
    user = await requester(request)
    body = await read_json(request)
    if "messages" not in body:
        raise missing_param("messages")
    await services(request).e2ee.to_device.send(
        user.user_id,
        user.device_id,
        request.path_params["event_type"],
        request.path_params["txn_id"],
        body["messages"],
    )
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes([("PUT", "/sendToDevice/{event_type}/{txn_id}", send_to_device)])
