"""Reading a room's DAG over federation: events, state, auth chains, history."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import bad_json, missing_param
from sceau.http.common import json_response, query_int, read_json, services
from sceau.http.federation.common import origin_of

V1 = "/_matrix/federation/v1"


def _now_ms(request: Request) -> int:
    return services(request).clock.time_ms()


def _required_query(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise missing_param(name)
    return value


async def get_event(request: Request) -> Response:
    """GET /_matrix/federation/v1/event/{eventId}"""
    origin, _ = await origin_of(request)
    reader = services(request).federation_rooms.reader
    pdu = await reader.event(origin, request.path_params["event_id"])
    return json_response(
        {
            "origin": services(request).config.server_name,
            "origin_server_ts": _now_ms(request),
            "pdus": [pdu],
        }
    )


async def get_state_ids(request: Request) -> Response:
    """GET /_matrix/federation/v1/state_ids/{roomId}"""
    origin, _ = await origin_of(request)
    event_id = _required_query(request, "event_id")
    reader = services(request).federation_rooms.reader
    return json_response(await reader.state_ids(origin, request.path_params["room_id"], event_id))


async def get_state(request: Request) -> Response:
    """GET /_matrix/federation/v1/state/{roomId}"""
    origin, _ = await origin_of(request)
    event_id = _required_query(request, "event_id")
    reader = services(request).federation_rooms.reader
    return json_response(await reader.state(origin, request.path_params["room_id"], event_id))


async def get_event_auth(request: Request) -> Response:
    """GET /_matrix/federation/v1/event_auth/{roomId}/{eventId}"""
    origin, _ = await origin_of(request)
    reader = services(request).federation_rooms.reader
    chain = await reader.event_auth(
        origin, request.path_params["room_id"], request.path_params["event_id"]
    )
    return json_response({"auth_chain": chain})


async def get_backfill(request: Request) -> Response:
    """GET /_matrix/federation/v1/backfill/{roomId}"""
    origin, _ = await origin_of(request)
    starts = request.query_params.getlist("v")
    if not starts:
        raise missing_param("v")
    limit = query_int(request, "limit", 10, minimum=0)
    reader = services(request).federation_rooms.reader
    pdus = await reader.backfill(origin, request.path_params["room_id"], starts, limit)
    return json_response(
        {
            "origin": services(request).config.server_name,
            "origin_server_ts": _now_ms(request),
            "pdus": pdus,
        }
    )


async def post_missing_events(request: Request) -> Response:
    """POST /_matrix/federation/v1/get_missing_events/{roomId}"""
    await read_json(request)  # a bad body is 400 whoever sends it
    origin, body = await origin_of(request, with_body=True)
    assert body is not None
    earliest = _id_list(body, "earliest_events")
    latest = _id_list(body, "latest_events")
    limit = _int(body, "limit", 10)
    min_depth = _int(body, "min_depth", 0)
    reader = services(request).federation_rooms.reader
    events = await reader.missing_events(
        origin, request.path_params["room_id"], earliest, latest, limit, min_depth
    )
    return json_response({"events": events})


def _id_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_json(f"'{key}' must be a list of event IDs")
    return value


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise bad_json(f"'{key}' must be a non-negative integer")
    return value


def routes() -> list[BaseRoute]:
    return [
        Route(V1 + "/event/{event_id}", get_event, methods=["GET"]),
        Route(V1 + "/state_ids/{room_id}", get_state_ids, methods=["GET"]),
        Route(V1 + "/state/{room_id}", get_state, methods=["GET"]),
        Route(V1 + "/event_auth/{room_id}/{event_id}", get_event_auth, methods=["GET"]),
        Route(V1 + "/backfill/{room_id}", get_backfill, methods=["GET"]),
        Route(V1 + "/get_missing_events/{room_id}", post_missing_events, methods=["POST"]),
    ]
