"""Synapse's admin API under /_synapse/admin, for operators' tools (synapse-admin...).

Every endpoint needs a server admin's access token: none is 401, a user's is
403 M_FORBIDDEN. Bodies and query parameters are checked here, before the
services check who is asking, so malformed input gets the same answer for all.
"""

from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import invalid_param
from sceau.http.app import Endpoint
from sceau.http.common import (
    get_field,
    json_response,
    query_bool,
    query_int,
    read_json,
    requester,
    services,
)
from sceau.services.admin_users import UserChanges
from sceau.storage.admin import ROOM_ORDER, USER_ORDER, RoomQuery, UserQuery

PREFIX = "/_synapse/admin"
MAX_LIMIT = 1000


def _page(request: Request) -> tuple[int, int]:
    """``from`` (an offset) and ``limit`` (100 by default, at most 1000)."""
    offset = query_int(request, "from", 0)
    limit = query_int(request, "limit", 100, maximum=MAX_LIMIT)
    return offset, limit


def _backwards(request: Request, default: str = "f") -> bool:
    direction = request.query_params.get("dir") or default
    if direction not in ("f", "b"):
        raise invalid_param("'dir' must be 'f' or 'b'")
    return direction == "b"


def _choice(request: Request, name: str, allowed: Collection[str], default: str) -> str:
    value = request.query_params.get(name) or default
    if value not in allowed:
        raise invalid_param(f"Unknown value for '{name}'")
    return value


async def server_version(request: Request) -> Response:
    """GET /_synapse/admin/v1/server_version"""
    user = await requester(request)
    return json_response(services(request).admin_users.server_version(user))


async def list_users(request: Request) -> Response:
    """GET /_synapse/admin/v2/users"""
    user = await requester(request)
    offset, limit = _page(request)
    admins = request.query_params.get("admins")
    query = UserQuery(
        offset=offset,
        limit=limit,
        name=request.query_params.get("name") or None,
        user_id=request.query_params.get("user_id") or None,
        guests=query_bool(request, "guests", True),
        deactivated=query_bool(request, "deactivated", False),
        admins=None if admins is None else query_bool(request, "admins"),
        order_by=_choice(request, "order_by", USER_ORDER, "name"),
        backwards=_backwards(request),
    )
    return json_response(await services(request).admin_users.list_users(user, query))


async def get_user(request: Request) -> Response:
    """GET /_synapse/admin/v2/users/{userId}"""
    user = await requester(request)
    target = request.path_params["user_id"]
    return json_response(await services(request).admin_users.get_user(user, target))


async def put_user(request: Request) -> Response:
    """PUT /_synapse/admin/v2/users/{userId}: 201 when the account is new, else 200."""
    user = await requester(request)
    body = await read_json(request)
    changes = UserChanges(
        password=get_field(body, "password", str),
        logout_devices=get_field(body, "logout_devices", bool, default=True),
        displayname=get_field(body, "displayname", str),
        avatar_url=get_field(body, "avatar_url", str),
        admin=get_field(body, "admin", bool),
        deactivated=get_field(body, "deactivated", bool),
    )
    target = request.path_params["user_id"]
    result, created = await services(request).admin_users.put_user(user, target, changes)
    return json_response(result, 201 if created else 200)


async def deactivate(request: Request) -> Response:
    """POST /_synapse/admin/v1/deactivate/{userId}"""
    user = await requester(request)
    body = await read_json(request, required=False)
    erase = get_field(body, "erase", bool, default=False)
    target = request.path_params["user_id"]
    return json_response(await services(request).admin_users.deactivate(user, target, erase))


async def reset_password(request: Request) -> Response:
    """POST /_synapse/admin/v1/reset_password/{userId}"""
    user = await requester(request)
    body = await read_json(request)
    new_password = get_field(body, "new_password", str, required=True)
    logout_devices = get_field(body, "logout_devices", bool, default=True)
    target = request.path_params["user_id"]
    result = await services(request).admin_users.reset_password(
        user, target, new_password, logout_devices
    )
    return json_response(result)


async def user_devices(request: Request) -> Response:
    """GET /_synapse/admin/v2/users/{userId}/devices"""
    user = await requester(request)
    target = request.path_params["user_id"]
    return json_response(await services(request).admin_users.devices(user, target))


async def joined_rooms(request: Request) -> Response:
    """GET /_synapse/admin/v1/users/{userId}/joined_rooms"""
    user = await requester(request)
    target = request.path_params["user_id"]
    return json_response(await services(request).admin_users.joined_rooms(user, target))


async def list_rooms(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms"""
    user = await requester(request)
    offset, limit = _page(request)
    query = RoomQuery(
        offset=offset,
        limit=limit,
        search_term=request.query_params.get("search_term") or None,
        order_by=_choice(request, "order_by", ROOM_ORDER, "name"),
        backwards=_backwards(request),
    )
    return json_response(await services(request).admin_rooms.list_rooms(user, query))


async def get_room(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}"""
    user = await requester(request)
    room_id = request.path_params["room_id"]
    return json_response(await services(request).admin_rooms.room(user, room_id))


async def room_members(request: Request) -> Response:
    """GET /_synapse/admin/v1/rooms/{roomId}/members"""
    user = await requester(request)
    room_id = request.path_params["room_id"]
    return json_response(await services(request).admin_rooms.members(user, room_id))


async def event_reports(request: Request) -> Response:
    """GET /_synapse/admin/v1/event_reports: newest first unless dir=f."""
    user = await requester(request)
    offset, limit = _page(request)
    newest_first = _backwards(request, default="b")
    result = await services(request).admin_rooms.event_reports(user, offset, limit, newest_first)
    return json_response(result)


async def event_report(request: Request) -> Response:
    """GET /_synapse/admin/v1/event_reports/{reportId}"""
    user = await requester(request)
    report_id = request.path_params["report_id"]
    return json_response(await services(request).admin_rooms.event_report(user, report_id))


async def set_account_validity(request: Request) -> Response:
    """POST /_synapse/admin/v1/account_validity/validity"""
    user = await requester(request)
    body = await read_json(request)
    target = get_field(body, "user_id", str, required=True)
    expiration_ts = get_field(body, "expiration_ts", int)
    # Accepted; reminders follow account_validity.renewal_reminders_ms for every account.
    get_field(body, "enable_renewal_emails", bool)
    if expiration_ts is not None and not 0 <= expiration_ts < 2**63:
        raise invalid_param("'expiration_ts' is out of range")
    result = await services(request).admin_users.set_validity(user, target, expiration_ts)
    return json_response(result)


def routes() -> list[BaseRoute]:
    specs: list[tuple[str, str, Endpoint]] = [
        ("GET", "/v1/server_version", server_version),
        ("GET", "/v2/users", list_users),
        ("GET", "/v2/users/{user_id}", get_user),
        ("PUT", "/v2/users/{user_id}", put_user),
        ("GET", "/v2/users/{user_id}/devices", user_devices),
        ("GET", "/v1/users/{user_id}/joined_rooms", joined_rooms),
        ("POST", "/v1/deactivate/{user_id}", deactivate),
        ("POST", "/v1/reset_password/{user_id}", reset_password),
        ("GET", "/v1/rooms", list_rooms),
        ("GET", "/v1/rooms/{room_id}", get_room),
        ("GET", "/v1/rooms/{room_id}/members", room_members),
        ("GET", "/v1/event_reports", event_reports),
        ("GET", "/v1/event_reports/{report_id}", event_report),
        ("POST", "/v1/account_validity/validity", set_account_validity),
    ]
    return [Route(PREFIX + path, endpoint, methods=[method]) for method, path, endpoint in specs]
