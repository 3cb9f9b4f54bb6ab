"""Rooms: creation, membership, sending, state and history."""

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sceau.errors import bad_json, invalid_param
from sceau.http.app import client_routes
from sceau.http.common import get_field, json_response, query_int, read_json, requester, services
from sceau.protocol.filters import FilterError, RoomEventFilter, parse_room_event_filter
from sceau.services.tokens import parse_position


def _reason(body: dict[str, Any]) -> str | None:
    return get_field(body, "reason", str)


async def create_room(request: Request) -> Response:
    """POST /_matrix/client/v3/createRoom"""
    user = await requester(request)
    body = await read_json(request)
    room_id = await services(request).rooms.create_room(user.user_id, body)
    return json_response({"room_id": room_id})


async def join_by_id_or_alias(request: Request) -> Response:
    """POST /_matrix/client/v3/join/{roomIdOrAlias}"""
    user = await requester(request)
    body = await read_json(request, required=False)
    servers = request.query_params.getlist("server_name") + request.query_params.getlist("via")
    room_id = await services(request).rooms.join(
        user.user_id, request.path_params["room"], _reason(body), servers
    )
    return json_response({"room_id": room_id})


async def join_room(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/join"""
    return await join_by_id_or_alias(request)


async def knock(request: Request) -> Response:
    """POST /_matrix/client/v3/knock/{roomIdOrAlias}"""
    user = await requester(request)
    body = await read_json(request, required=False)
    room_id = await services(request).rooms.knock(
        user.user_id, request.path_params["room"], _reason(body)
    )
    return json_response({"room_id": room_id})


async def invite(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/invite"""
    user = await requester(request)
    body = await read_json(request)
    hs = services(request)
    target = get_field(body, "user_id", str)
    if target is None and "medium" in body:
        # A third-party invite: this server is its own identity server (no outbound call).
        medium = get_field(body, "medium", str, required=True)
        address = get_field(body, "address", str, required=True)
        get_field(body, "id_server", str)
        get_field(body, "id_access_token", str)
        await hs.email_invites.invite(user.user_id, request.path_params["room"], medium, address)
        return json_response({})
    if target is None:
        target = get_field(body, "user_id", str, required=True)
    await hs.rooms.invite(user.user_id, request.path_params["room"], target, _reason(body))
    return json_response({})


async def leave(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/leave"""
    user = await requester(request)
    body = await read_json(request, required=False)
    await services(request).rooms.leave(user.user_id, request.path_params["room"], _reason(body))
    return json_response({})


async def forget(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/forget"""
    user = await requester(request)
    await read_json(request, required=False)
    await services(request).rooms.forget(user.user_id, request.path_params["room"])
    return json_response({})


async def _moderate(request: Request, action: str) -> Response:
    user = await requester(request)
    body = await read_json(request)
    target = get_field(body, "user_id", str, required=True)
    method = getattr(services(request).rooms, action)
    await method(user.user_id, request.path_params["room"], target, _reason(body))
    return json_response({})


async def kick(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/kick"""
    return await _moderate(request, "kick")


async def ban(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/ban"""
    return await _moderate(request, "ban")


async def unban(request: Request) -> Response:
    """POST /_matrix/client/v3/rooms/{roomId}/unban"""
    return await _moderate(request, "unban")


async def send_event(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}"""
    user = await requester(request)
    body = await read_json(request)
    params = request.path_params
    event_id = await services(request).messaging.send_message(
        user.user_id, user.device_id, params["room"], params["event_type"], body, params["txn_id"]
    )
    return json_response({"event_id": event_id})


async def get_state_event(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    user = await requester(request)
    params = request.path_params
    event = await services(request).room_state.state_event(
        user.user_id, params["room"], params["event_type"], params.get("state_key", "")
    )
    if request.query_params.get("format") == "event":
        return json_response(await services(request).formatter.format_one(event, user.user_id))
    return json_response(event.content)


async def put_state_event(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}"""
    user = await requester(request)
    body = await read_json(request)
    params = request.path_params
    event_id = await services(request).messaging.put_state(
        user.user_id, params["room"], params["event_type"], params.get("state_key", ""), body
    )
    return json_response({"event_id": event_id})


async def get_state(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/state"""
    user = await requester(request)
    return json_response(
        await services(request).room_state.full_state(user.user_id, request.path_params["room"])
    )


async def get_event(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}"""
    user = await requester(request)
    params = request.path_params
    event = await services(request).timeline.event(
        user.user_id, user.device_id, params["room"], params["event_id"]
    )
    return json_response(event)


async def members(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/members"""
    user = await requester(request)
    hs = services(request)
    room_id = request.path_params["room"]
    at = request.query_params.get("at")
    group = await hs.room_state.group_at_position(room_id, parse_position(at)) if at else None
    chunk = await hs.room_state.members(
        user.user_id,
        room_id,
        at_group=group,
        membership=request.query_params.get("membership"),
        not_membership=request.query_params.get("not_membership"),
    )
    return json_response({"chunk": chunk})


async def joined_members(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/joined_members"""
    user = await requester(request)
    joined = await services(request).room_state.joined_members(
        user.user_id, request.path_params["room"]
    )
    return json_response({"joined": joined})


async def joined_rooms(request: Request) -> Response:
    """GET /_matrix/client/v3/joined_rooms"""
    user = await requester(request)
    return json_response(
        {"joined_rooms": await services(request).room_state.joined_rooms(user.user_id)}
    )


def parse_filter_param(request: Request) -> RoomEventFilter:
    raw = request.query_params.get("filter")
    if not raw:
        return RoomEventFilter()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_param("'filter' must be a JSON object") from None
    if not isinstance(body, dict):
        raise invalid_param("'filter' must be a JSON object")
    try:
        return parse_room_event_filter(body)
    except FilterError as exc:
        raise bad_json(f"Invalid filter: {exc}") from None


async def messages(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/messages"""
    user = await requester(request)
    direction = request.query_params.get("dir", "b")
    if direction not in ("b", "f"):
        raise invalid_param("'dir' must be 'b' or 'f'")
    event_filter = parse_filter_param(request)
    limit = query_int(request, "limit", event_filter.limit_or(10), minimum=0, maximum=1000)
    result = await services(request).timeline.messages(
        user.user_id,
        user.device_id,
        request.path_params["room"],
        from_token=request.query_params.get("from"),
        to_token=request.query_params.get("to"),
        backwards=direction == "b",
        limit=limit,
        event_filter=event_filter,
    )
    return json_response(result)


async def context(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/context/{eventId}"""
    user = await requester(request)
    limit = query_int(request, "limit", 10, minimum=0, maximum=100)
    params = request.path_params
    result = await services(request).timeline.context(
        user.user_id,
        user.device_id,
        params["room"],
        params["event_id"],
        limit,
        parse_filter_param(request),
    )
    return json_response(result)


async def redact(request: Request) -> Response:
    """PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}"""
    user = await requester(request)
    body = await read_json(request, required=False)
    params = request.path_params
    event_id = await services(request).messaging.redact(
        user.user_id,
        user.device_id,
        params["room"],
        params["event_id"],
        body.get("reason"),
        params["txn_id"],
    )
    return json_response({"event_id": event_id})


async def get_alias(request: Request) -> Response:
    """GET /_matrix/client/v3/directory/room/{roomAlias}"""
    hs = services(request)
    alias = request.path_params["alias"]
    server = alias.split(":", 1)[1] if ":" in alias else ""
    if (
        alias.startswith("#")
        and server not in ("", hs.config.server_name)
        and hs.federation.policy.enabled
    ):
        return json_response(await hs.federation.remote.directory(alias))
    room_id = await hs.rooms.resolve_room(alias) if alias.startswith("#") else None
    if room_id is None:
        raise invalid_param("Not a room alias")
    return json_response({"room_id": room_id, "servers": [hs.config.server_name]})


async def put_alias(request: Request) -> Response:
    """PUT /_matrix/client/v3/directory/room/{roomAlias}"""
    user = await requester(request)
    body = await read_json(request)
    room_id = get_field(body, "room_id", str, required=True)
    await services(request).aliases.create_alias(
        user.user_id, request.path_params["alias"], room_id
    )
    return json_response({})


async def delete_alias(request: Request) -> Response:
    """DELETE /_matrix/client/v3/directory/room/{roomAlias}"""
    user = await requester(request)
    await services(request).aliases.delete_alias(
        user.user_id, request.path_params["alias"], user.is_admin
    )
    return json_response({})


async def room_aliases(request: Request) -> Response:
    """GET /_matrix/client/v3/rooms/{roomId}/aliases"""
    user = await requester(request)
    hs = services(request)
    room_id = request.path_params["room"]
    await hs.room_state.viewable_state_ids(user.user_id, room_id)
    return json_response({"aliases": await hs.stores.rooms.aliases_for_room(room_id)})


def routes() -> list[BaseRoute]:
    room = "/rooms/{room}"
    return client_routes(
        [
            ("POST", "/createRoom", create_room),
            ("POST", "/join/{room}", join_by_id_or_alias),
            ("POST", "/knock/{room}", knock),
            ("POST", room + "/join", join_room),
            ("POST", room + "/invite", invite),
            ("POST", room + "/leave", leave),
            ("POST", room + "/forget", forget),
            ("POST", room + "/kick", kick),
            ("POST", room + "/ban", ban),
            ("POST", room + "/unban", unban),
            ("PUT", room + "/send/{event_type}/{txn_id}", send_event),
            ("GET", room + "/state", get_state),
            ("GET", room + "/state/{event_type}", get_state_event),
            ("GET", room + "/state/{event_type}/{state_key:path}", get_state_event),
            ("PUT", room + "/state/{event_type}", put_state_event),
            ("PUT", room + "/state/{event_type}/{state_key:path}", put_state_event),
            ("GET", room + "/event/{event_id}", get_event),
            ("GET", room + "/members", members),
            ("GET", room + "/joined_members", joined_members),
            ("GET", room + "/messages", messages),
            ("GET", room + "/context/{event_id}", context),
            ("PUT", room + "/redact/{event_id}/{txn_id}", redact),
            ("GET", room + "/aliases", room_aliases),
            ("GET", "/joined_rooms", joined_rooms),
            ("GET", "/directory/room/{alias}", get_alias),
            ("PUT", "/directory/room/{alias}", put_alias),
            ("DELETE", "/directory/room/{alias}", delete_alias),
        ]
    )
