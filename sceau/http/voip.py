"""TURN server credentials for VoIP calls."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import CLIENT_PREFIXES, client_routes
from sceau.http.common import json_response, requester, services


async def turn_server(request: Request) -> Response:
    """GET /_matrix/client/v3/voip/turnServer"""
    user = await requester(request)
    return json_response(services(request).voip.turn_server(user))


def routes() -> list[BaseRoute]:
    # Older clients still ask under r0 and the legacy api/v1 prefix; Synapse serves all of them.
    versions = (*CLIENT_PREFIXES, "/_matrix/client/unstable", "/_matrix/client/api/v1")
    return client_routes([("GET", "/voip/turnServer", turn_server)], versions)
