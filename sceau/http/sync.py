"""/sync and stored filters."""

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import bad_json, forbidden, invalid_param, not_found
from sceau.http.app import client_routes
from sceau.http.common import (
    json_response,
    query,
    query_bool,
    query_int,
    read_json,
    requester,
    services,
)
from sceau.protocol.filters import Filter, FilterError, parse_filter
from sceau.services.tokens import parse_sync_token

if TYPE_CHECKING:
    from sceau.homeserver import Services

PRESENCE_STATES = ("online", "offline", "unavailable")


async def _load_filter(hs: "Services", user_id: str, raw: str | None) -> Filter:
    if not raw:
        return Filter()
    if raw.lstrip().startswith("{"):
        text = raw
    else:
        if not raw.isdigit():
            raise invalid_param("'filter' must be a filter ID or a JSON object")
        stored = await hs.stores.filters.get(user_id, int(raw))
        if stored is None:
            raise invalid_param("Unknown filter ID")
        text = stored
    try:
        return hs.sync.filter_from_json(text)
    except orjson.JSONDecodeError:
        raise invalid_param("'filter' is not valid JSON") from None
    except FilterError as exc:
        raise bad_json(f"Invalid filter: {exc}") from None


async def sync(request: Request) -> Response:
    """GET /_matrix/client/v3/sync"""
    user = await requester(request)
    params = query(request)
    since_raw = params.get("since")
    since = parse_sync_token(since_raw) if since_raw else None
    set_presence = params.get("set_presence")
    if set_presence is not None and set_presence not in PRESENCE_STATES:
        raise invalid_param("'set_presence' must be online, offline or unavailable")
    hs = services(request)
    sync_filter = await _load_filter(hs, user.user_id, params.get("filter"))
    result = await hs.sync.sync(
        user.user_id,
        user.device_id,
        since,
        timeout_ms=query_int(request, "timeout", 0),
        full_state=query_bool(request, "full_state"),
        sync_filter=sync_filter,
        set_presence=set_presence,
    )
    return json_response(result)


async def create_filter(request: Request) -> Response:
    """POST /_matrix/client/v3/user/{userId}/filter"""
    user = await requester(request)
    if request.path_params["user_id"] != user.user_id:
        raise forbidden("You can only create filters for yourself")
    body = await read_json(request)
    try:
        parse_filter(body)
    except FilterError as exc:
        raise bad_json(f"Invalid filter: {exc}") from None
    filter_id = await services(request).stores.filters.add(
        user.user_id, orjson.dumps(body).decode()
    )
    return json_response({"filter_id": str(filter_id)})


async def get_filter(request: Request) -> Response:
    """GET /_matrix/client/v3/user/{userId}/filter/{filterId}"""
    user = await requester(request)
    if request.path_params["user_id"] != user.user_id:
        raise forbidden("You can only read your own filters")
    raw_id = request.path_params["filter_id"]
    stored = (
        await services(request).stores.filters.get(user.user_id, int(raw_id))
        if raw_id.isdigit()
        else None
    )
    if stored is None:
        raise not_found("No such filter")
    return json_response(orjson.loads(stored))


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("GET", "/sync", sync),
            ("POST", "/user/{user_id}/filter", create_filter),
            ("GET", "/user/{user_id}/filter/{filter_id}", get_filter),
        ]
    )
