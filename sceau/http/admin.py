"""Server administration in the client API (the spec's "Server Administration" module)."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, requester, services


async def whois(request: Request) -> Response:
    """GET /_matrix/client/v3/admin/whois/{userId}"""
    user = await requester(request)
    return json_response(await services(request).admin.whois(user, request.path_params["user_id"]))


def routes() -> list[BaseRoute]:
    return client_routes([("GET", "/admin/whois/{user_id}", whois)])
