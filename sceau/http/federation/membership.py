"""The membership handshakes over federation: make_/send_ join, leave, knock; invite."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import bad_json
from sceau.http.common import json_response, read_json, services
from sceau.http.federation.common import origin_of
from sceau.services.federation.membership_handshake import MembershipHandshake

V1 = "/_matrix/federation/v1"
V2 = "/_matrix/federation/v2"


def _handshake(request: Request) -> MembershipHandshake:
    return services(request).federation_rooms.handshake


async def _make(request: Request, membership: str) -> Response:
    origin, _ = await origin_of(request)
    versions = request.query_params.getlist("ver") or (["1"] if membership == "join" else [])
    answer = await _handshake(request).make(
        origin,
        request.path_params["room_id"],
        request.path_params["user_id"],
        membership,
        versions,
    )
    return json_response(answer)


async def _send(request: Request, membership: str) -> Response:
    await read_json(request)  # a bad body is 400 whoever sends it
    origin, body = await origin_of(request, with_body=True)
    answer = await _handshake(request).send(
        origin,
        request.path_params["room_id"],
        request.path_params["event_id"],
        body,
        membership,
    )
    return json_response(answer)


async def make_join(request: Request) -> Response:
    """GET /_matrix/federation/v1/make_join/{roomId}/{userId}"""
    return await _make(request, "join")


async def make_leave(request: Request) -> Response:
    """GET /_matrix/federation/v1/make_leave/{roomId}/{userId}"""
    return await _make(request, "leave")


async def make_knock(request: Request) -> Response:
    """GET /_matrix/federation/v1/make_knock/{roomId}/{userId}"""
    return await _make(request, "knock")


async def send_join(request: Request) -> Response:
    """PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}"""
    return await _send(request, "join")


async def send_leave(request: Request) -> Response:
    """PUT /_matrix/federation/v2/send_leave/{roomId}/{eventId}"""
    return await _send(request, "leave")


async def send_knock(request: Request) -> Response:
    """PUT /_matrix/federation/v1/send_knock/{roomId}/{eventId}"""
    return await _send(request, "knock")


async def invite(request: Request) -> Response:
    """PUT /_matrix/federation/v2/invite/{roomId}/{eventId}"""
    await read_json(request)
    origin, body = await origin_of(request, with_body=True)
    if body is None:
        raise bad_json("A body is required")
    signed = await _handshake(request).invite(
        origin, request.path_params["room_id"], request.path_params["event_id"], body
    )
    return json_response({"event": signed})


def routes() -> list[BaseRoute]:
    return [
        Route(V1 + "/make_join/{room_id}/{user_id}", make_join, methods=["GET"]),
        Route(V1 + "/make_leave/{room_id}/{user_id}", make_leave, methods=["GET"]),
        Route(V1 + "/make_knock/{room_id}/{user_id}", make_knock, methods=["GET"]),
        Route(V2 + "/send_join/{room_id}/{event_id}", send_join, methods=["PUT"]),
        Route(V2 + "/send_leave/{room_id}/{event_id}", send_leave, methods=["PUT"]),
        Route(V1 + "/send_knock/{room_id}/{event_id}", send_knock, methods=["PUT"]),
        Route(V2 + "/invite/{room_id}/{event_id}", invite, methods=["PUT"]),
    ]
