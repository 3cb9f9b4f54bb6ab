"""The server's implementation name and version, for other servers."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.http.common import json_response


async def server_version(_request: Request) -> Response:
    """GET /_matrix/federation/v1/version"""
    try:
        number = package_version("sceau")
    except PackageNotFoundError:
        number = "unknown"
    return json_response({"server": {"name": "Sceau", "version": number}})


def routes() -> list[BaseRoute]:
    return [Route("/_matrix/federation/v1/version", server_version, methods=["GET"])]
