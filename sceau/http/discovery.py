"""Discovery: what the server is and what it can do."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.http.app import client_routes
from sceau.http.common import json_response, requester, services
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS

#: Only the spec versions whose endpoints Sceau really serves.
SUPPORTED_SPEC_VERSIONS = [
    "v1.1",
    "v1.2",
    "v1.3",
    "v1.4",
    "v1.5",
    "v1.6",
    "v1.7",
    "v1.8",
    "v1.9",
    "v1.10",
    "v1.11",
]

#: Unstable features served (Element X needs Simplified Sliding Sync).
UNSTABLE_FEATURES = {"org.matrix.simplified_msc3575": True}


async def versions(_request: Request) -> Response:
    """GET /_matrix/client/versions"""
    return json_response(
        {"versions": SUPPORTED_SPEC_VERSIONS, "unstable_features": UNSTABLE_FEATURES}
    )


async def well_known_client(request: Request) -> Response:
    """GET /.well-known/matrix/client"""
    base = services(request).config.base_url.rstrip("/")
    return json_response({"m.homeserver": {"base_url": base}})


async def capabilities(request: Request) -> Response:
    """GET /_matrix/client/v3/capabilities"""
    await requester(request)
    hs = services(request)
    config = hs.config
    return json_response(
        {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.room_versions": {
                    "default": config.default_room_version,
                    "available": {v: "stable" for v in KNOWN_ROOM_VERSIONS},
                },
                "m.set_displayname": {"enabled": not config.policy.lock_display_name},
                "m.set_avatar_url": {"enabled": True},
                "m.3pid_changes": {"enabled": not config.policy.lock_email},
                "m.get_login_token": {"enabled": False},
            }
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/_matrix/client/versions", versions, methods=["GET"]),
        Route("/.well-known/matrix/client", well_known_client, methods=["GET"]),
        *client_routes([("GET", "/capabilities", capabilities)]),
    ]
