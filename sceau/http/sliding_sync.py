"""Simplified Sliding Sync (MSC4186), the sync Element X speaks."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import invalid_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, query_int, read_json, requester, services
from sceau.services.sliding_sync_request import parse_request

UNSTABLE_PREFIX = "/_matrix/client/unstable/org.matrix.simplified_msc3575"


async def sliding_sync(request: Request) -> Response:
    """POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync"""
    user = await requester(request)
    body = await read_json(request)
    conn_id = body.get("conn_id")
    if conn_id is not None and not isinstance(conn_id, str):
        raise invalid_param("'conn_id' must be a string")
    result = await services(request).sliding_sync.sync(
        user.user_id,
        user.device_id,
        parse_request(body, conn_id),
        request.query_params.get("pos") or None,
        timeout_ms=query_int(request, "timeout", 0),
    )
    return json_response(result)


def routes() -> list[BaseRoute]:
    return client_routes([("POST", "/sync", sliding_sync)], versions=[UNSTABLE_PREFIX])
