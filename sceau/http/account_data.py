"""Account data, global and per room, and room tags."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def get_global(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/account_data/{type}"""
    user = await requester(request)
    params = request.path_params
    content = await services(request).account_data.get_global(
        user.user_id, params["user_id"], params["type"]
    )
    return json_response(content)


async def put_global(request: Request) -> Response:
    """PUT /_matrix/client/v3/user/{userId}/account_data/{type}"""
    user = await requester(request)
    body = await read_json(request)
    params = request.path_params
    await services(request).account_data.put_global(
        user.user_id, params["user_id"], params["type"], body
    )
    return json_response({})


async def get_room(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}"""
    user = await requester(request)
    params = request.path_params
    content = await services(request).account_data.get_room(
        user.user_id, params["user_id"], params["room"], params["type"]
    )
    return json_response(content)


async def put_room(request: Request) -> Response:
    """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type}"""
    user = await requester(request)
    body = await read_json(request)
    params = request.path_params
    await services(request).account_data.put_room(
        user.user_id, params["user_id"], params["room"], params["type"], body
    )
    return json_response({})


async def get_tags(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags"""
    user = await requester(request)
    params = request.path_params
    tags = await services(request).account_data.tags(
        user.user_id, params["user_id"], params["room"]
    )
    return json_response(tags)


async def put_tag(request: Request) -> Response:
    """PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    user = await requester(request)
    body = await read_json(request)
    params = request.path_params
    await services(request).account_data.put_tag(
        user.user_id, params["user_id"], params["room"], params["tag"], body
    )
    return json_response({})


async def delete_tag(request: Request) -> Response:
    """DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag}"""
    user = await requester(request)
    params = request.path_params
    await services(request).account_data.delete_tag(
        user.user_id, params["user_id"], params["room"], params["tag"]
    )
    return json_response({})


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("GET", "/user/{user_id}/account_data/{type}", get_global),
            ("PUT", "/user/{user_id}/account_data/{type}", put_global),
            ("GET", "/user/{user_id}/rooms/{room}/account_data/{type}", get_room),
            ("PUT", "/user/{user_id}/rooms/{room}/account_data/{type}", put_room),
            ("GET", "/user/{user_id}/rooms/{room}/tags", get_tags),
            ("PUT", "/user/{user_id}/rooms/{room}/tags/{tag}", put_tag),
            ("DELETE", "/user/{user_id}/rooms/{room}/tags/{tag}", delete_tag),
        ]
    )
