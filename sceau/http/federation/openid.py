"""OpenID: the client asks for a token; a third party checks it with this server."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import missing_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def request_token(request: Request) -> Response:
    """POST /_matrix/client/v3/user/{userId}/openid/request_token"""
    who = await requester(request)
    await read_json(request, required=False)
    answer = await services(request).federation.openid.request_token(
        who.user_id, request.path_params["user_id"]
    )
    return json_response(answer)


async def userinfo(request: Request) -> Response:
    """GET /_matrix/federation/v1/openid/userinfo"""
    token = request.query_params.get("access_token")
    if not token:
        raise missing_param("access_token")
    return json_response(await services(request).federation.openid.userinfo(token))


def routes() -> list[BaseRoute]:
    return [
        *client_routes([("POST", "/user/{user_id}/openid/request_token", request_token)]),
        Route("/_matrix/federation/v1/openid/userinfo", userinfo, methods=["GET"]),
    ]
