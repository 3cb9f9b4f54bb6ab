"""Redeeming an invitation by email: the invitee's server asks the inviter's to send it."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.http.common import json_response, read_json, services
from sceau.http.federation.common import origin_of


async def exchange_third_party_invite(request: Request) -> Response:
    """PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}"""
    await read_json(request)  # a bad body is 400 whoever sends it
    origin, body = await origin_of(request, with_body=True)
    assert body is not None
    await services(request).email_invites.exchange_received(
        origin, request.path_params["room_id"], body
    )
    return json_response({})


async def onbind(request: Request) -> Response:
    """PUT /_matrix/federation/v1/3pid/onbind

    An identity server's call, not a server's: it carries no X-Matrix
    signature. What vouches for each invitation is its ``signed`` block,
    checked against the keys the room's invite event lists.
    """
    services(request).federation.authenticator.require_enabled()
    body = await read_json(request)
    await services(request).email_invites.on_bind(body)
    return json_response({})


def routes() -> list[BaseRoute]:
    return [
        Route("/_matrix/federation/v1/3pid/onbind", onbind, methods=["PUT"]),
        Route(
            "/_matrix/federation/v1/exchange_third_party_invite/{room_id}",
            exchange_third_party_invite,
            methods=["PUT"],
        ),
    ]
