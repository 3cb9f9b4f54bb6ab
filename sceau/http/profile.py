"""Profiles: anyone may read them; only their owner may change them."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import bad_json, missing_param
from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def get_profile(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}"""
    profile = await services(request).profile.get(request.path_params["user_id"])
    return json_response(profile)


async def get_profile_field(request: Request) -> Response:
    """GET /_matrix/client/v3/profile/{userId}/{keyName} (displayname or avatar_url)"""
    params = request.path_params
    field = await services(request).profile.get_field(params["user_id"], params["key_name"])
    return json_response(field)


async def _set_field(request: Request, key: str) -> Response:
    who = await requester(request)
    body = await read_json(request)
    if key not in body:
        raise missing_param(key)
    value = body[key]
    if value is not None and not isinstance(value, str):
        raise bad_json(f"'{key}' must be a string")
    await services(request).profile.set_field(who, request.path_params["user_id"], key, value)
    return json_response({})


async def set_displayname(request: Request) -> Response:
    """PUT /_matrix/client/v3/profile/{userId}/displayname"""
    return await _set_field(request, "displayname")


async def set_avatar_url(request: Request) -> Response:
    """PUT /_matrix/client/v3/profile/{userId}/avatar_url"""
    return await _set_field(request, "avatar_url")


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("GET", "/profile/{user_id}", get_profile),
            ("PUT", "/profile/{user_id}/displayname", set_displayname),
            ("PUT", "/profile/{user_id}/avatar_url", set_avatar_url),
            ("GET", "/profile/{user_id}/{key_name}", get_profile_field),
        ]
    )
