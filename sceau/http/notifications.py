"""The list of events that notified the user (push notifications module)."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, query_int, requester, services


async def notifications(request: Request) -> Response:
    """GET /_matrix/client/v3/notifications"""
    user = await requester(request)
    params = request.query_params
    page = await services(request).notifications.page(
        user.user_id,
        user.device_id,
        from_token=params.get("from") or None,
        limit=query_int(request, "limit", 50, minimum=1, maximum=100),
        only_highlight=params.get("only") == "highlight",
    )
    return json_response(page)


def routes() -> list[BaseRoute]:
    return client_routes([("GET", "/notifications", notifications)])
