"""Queries other servers make: profiles, aliases, devices, keys, public rooms."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import bad_json, missing_param
from sceau.http.common import get_field, json_response, query_bool, query_int, services
from sceau.http.federation.common import origin_of
from sceau.services.room_directory import DirectoryQuery, parse_directory_filter


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise missing_param(name)
    return value


async def query_profile(request: Request) -> Response:
    """GET /_matrix/federation/v1/query/profile"""
    await origin_of(request)
    user_id = _required(request, "user_id")
    field = request.query_params.get("field") or None
    return json_response(await services(request).federation.queries.profile(user_id, field))


async def query_directory(request: Request) -> Response:
    """GET /_matrix/federation/v1/query/directory"""
    await origin_of(request)
    alias = _required(request, "room_alias")
    return json_response(await services(request).federation.queries.directory(alias))


async def user_devices(request: Request) -> Response:
    """GET /_matrix/federation/v1/user/devices/{userId}"""
    await origin_of(request)
    user_id = request.path_params["user_id"]
    return json_response(await services(request).federation.queries.user_devices(user_id))


async def user_keys_query(request: Request) -> Response:
    """POST /_matrix/federation/v1/user/keys/query"""
    _origin, body = await origin_of(request, with_body=True)
    assert body is not None
    wanted = body.get("device_keys")
    if not isinstance(wanted, dict):
        raise bad_json("'device_keys' must be an object")
    return json_response(await services(request).federation.queries.keys_query(wanted))


async def user_keys_claim(request: Request) -> Response:
    """POST /_matrix/federation/v1/user/keys/claim"""
    _origin, body = await origin_of(request, with_body=True)
    assert body is not None
    wanted = body.get("one_time_keys")
    if not isinstance(wanted, dict):
        raise bad_json("'one_time_keys' must be an object")
    return json_response(await services(request).federation.queries.keys_claim(wanted))


async def get_public_rooms(request: Request) -> Response:
    """GET /_matrix/federation/v1/publicRooms"""
    await origin_of(request)
    params = request.query_params
    query = DirectoryQuery(
        limit=query_int(request, "limit", 100, minimum=0, maximum=500)
        if params.get("limit")
        else None,
        since=params.get("since") or None,
    )
    return json_response(await services(request).federation.queries.public_rooms(query))


async def post_public_rooms(request: Request) -> Response:
    """POST /_matrix/federation/v1/publicRooms"""
    _origin, body = await origin_of(request, with_body=True)
    assert body is not None
    limit = get_field(body, "limit", int)
    if limit is not None and limit < 0:
        raise bad_json("'limit' must not be negative")
    term, room_types = parse_directory_filter(body)
    query = DirectoryQuery(
        limit=None if limit is None else min(limit, 500),
        since=get_field(body, "since", str),
        search_term=term,
        room_types=room_types,
    )
    return json_response(await services(request).federation.queries.public_rooms(query))


async def hierarchy(request: Request) -> Response:
    """GET /_matrix/federation/v1/hierarchy/{roomId}"""
    await origin_of(request)
    suggested = query_bool(request, "suggested_only")
    answer = await services(request).spaces.federation_hierarchy(
        request.path_params["room_id"], suggested
    )
    return json_response(answer)


def routes() -> list[BaseRoute]:
    prefix = "/_matrix/federation/v1"
    return [
        Route(prefix + "/query/profile", query_profile, methods=["GET"]),
        Route(prefix + "/query/directory", query_directory, methods=["GET"]),
        Route(prefix + "/user/devices/{user_id}", user_devices, methods=["GET"]),
        Route(prefix + "/user/keys/query", user_keys_query, methods=["POST"]),
        Route(prefix + "/user/keys/claim", user_keys_claim, methods=["POST"]),
        Route(prefix + "/publicRooms", get_public_rooms, methods=["GET"]),
        Route(prefix + "/publicRooms", post_public_rooms, methods=["POST"]),
        Route(prefix + "/hierarchy/{room_id}", hierarchy, methods=["GET"]),
    ]
