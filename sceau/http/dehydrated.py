"""Dehydrated devices, MSC3814 (unstable prefix org.matrix.msc3814.v1)."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services

PREFIX = ("/_matrix/client/unstable/org.matrix.msc3814.v1",)


async def put_device(request: Request) -> Response:
    """PUT /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device"""
    user = await requester(request)
    body = await read_json(request)
    device_id = await services(request).e2ee.dehydrated.put(user.user_id, body)
    return json_response({"device_id": device_id})


async def get_device(request: Request) -> Response:
    """GET /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device"""
    user = await requester(request)
    return json_response(await services(request).e2ee.dehydrated.get(user.user_id))


async def delete_device(request: Request) -> Response:
    """DELETE /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device"""
    user = await requester(request)
    device_id = await services(request).e2ee.dehydrated.delete(user.user_id)
    return json_response({"device_id": device_id})


async def device_events(request: Request) -> Response:
    """POST /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device/{deviceId}/events

    The MSC's form (and ruma's): the previous ``next_batch`` in the body.
    """
    user = await requester(request)
    body = await read_json(request, required=False)
    result = await services(request).e2ee.dehydrated.events(
        user.user_id, request.path_params["device_id"], body.get("next_batch")
    )
    return json_response(result)


async def device_events_get(request: Request) -> Response:
    """GET /_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device/{deviceId}/events

    matrix-js-sdk's form: the previous ``next_batch`` as the ``from`` query parameter.
    """
    user = await requester(request)
    result = await services(request).e2ee.dehydrated.events(
        user.user_id, request.path_params["device_id"], request.query_params.get("from")
    )
    return json_response(result)


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("PUT", "/dehydrated_device", put_device),
            ("GET", "/dehydrated_device", get_device),
            ("DELETE", "/dehydrated_device", delete_device),
            # Device IDs are unpadded base64 and may hold a '/' (sent as %2F).
            ("POST", "/dehydrated_device/{device_id:path}/events", device_events),
            ("GET", "/dehydrated_device/{device_id:path}/events", device_events_get),
        ],
        versions=PREFIX,
    )
