"""Server-side key backup (/room_keys/...)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import bad_json
from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services


async def create_version(request: Request) -> Response:
    """POST /_matrix/client/v3/room_keys/version"""
    user = await requester(request)
    body = await read_json(request)
    version = await services(request).e2ee.key_backup.create_version(user.user_id, body)
    return json_response({"version": version})


async def current_version(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/version"""
    user = await requester(request)
    return json_response(await services(request).e2ee.key_backup.get_version(user.user_id, None))


async def get_version(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/version/{version}"""
    user = await requester(request)
    version = request.path_params["version"]
    return json_response(await services(request).e2ee.key_backup.get_version(user.user_id, version))


async def update_version(request: Request) -> Response:
    """PUT /_matrix/client/v3/room_keys/version/{version}"""
    user = await requester(request)
    body = await read_json(request)
    await services(request).e2ee.key_backup.update_version(
        user.user_id, request.path_params["version"], body
    )
    return json_response({})


async def delete_version(request: Request) -> Response:
    """DELETE /_matrix/client/v3/room_keys/version/{version}"""
    user = await requester(request)
    await services(request).e2ee.key_backup.delete_version(
        user.user_id, request.path_params["version"]
    )
    return json_response({})


def _target(request: Request) -> tuple[str | None, str | None]:
    return request.path_params.get("room_id"), request.path_params.get("session_id")


def _uploaded_rooms(body: dict[str, Any], room_id: str | None, session_id: str | None) -> Any:
    """Normalise the three upload shapes to {room: {session: data}}."""
    if session_id is not None:
        return {room_id: {session_id: body}}
    if room_id is not None:
        sessions = body.get("sessions")
        if not isinstance(sessions, dict):
            raise bad_json("'sessions' must be an object")
        return {room_id: sessions}
    rooms = body.get("rooms")
    if not isinstance(rooms, dict):
        raise bad_json("'rooms' must be an object")
    result = {}
    for rid, room in rooms.items():
        if not isinstance(room, dict) or not isinstance(room.get("sessions"), dict):
            raise bad_json("Each room must have 'sessions'")
        result[rid] = room["sessions"]
    return result


async def put_keys(request: Request) -> Response:
    """PUT /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    user = await requester(request)
    body = await read_json(request)
    room_id, session_id = _target(request)
    result = await services(request).e2ee.key_backup.upload(
        user.user_id,
        request.query_params.get("version"),
        _uploaded_rooms(body, room_id, session_id),
    )
    return json_response(result)


async def get_keys(request: Request) -> Response:
    """GET /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    user = await requester(request)
    room_id, session_id = _target(request)
    result = await services(request).e2ee.key_backup.get(
        user.user_id, request.query_params.get("version"), room_id, session_id
    )
    return json_response(result)


async def delete_keys(request: Request) -> Response:
    """DELETE /_matrix/client/v3/room_keys/keys[/{roomId}[/{sessionId}]]"""
    user = await requester(request)
    room_id, session_id = _target(request)
    result = await services(request).e2ee.key_backup.delete(
        user.user_id, request.query_params.get("version"), room_id, session_id
    )
    return json_response(result)


def routes() -> list[BaseRoute]:
    specs = [
        ("POST", "/room_keys/version", create_version),
        ("GET", "/room_keys/version", current_version),
        ("GET", "/room_keys/version/{version}", get_version),
        ("PUT", "/room_keys/version/{version}", update_version),
        ("DELETE", "/room_keys/version/{version}", delete_version),
    ]
    for path in (
        "/room_keys/keys",
        "/room_keys/keys/{room_id}",
        # Megolm session IDs are base64 and may hold a '/' (sent as %2F).
        "/room_keys/keys/{room_id}/{session_id:path}",
    ):
        specs += [("PUT", path, put_keys), ("GET", path, get_keys), ("DELETE", path, delete_keys)]
    return client_routes(specs)
