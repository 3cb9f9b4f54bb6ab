"""The identity endpoints the real system's clients call on their homeserver.

Clients ask "which server is this email address's?" before the user logs in or
registers (the real deployment's identity server answers it); Sceau answers
from ``policy.email_routing``, the same on every server of the federation.
"""

import ipaddress

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sceau.errors import MatrixError, forbidden
from sceau.http.common import client_ip, json_response, read_json, services
from sceau.http.federation.common import origin_of
from sceau.protocol.auth_rules import server_name_of

PREFIX = "/_matrix/identity/api/v1"


def _email_param(request: Request) -> str:
    medium = request.query_params.get("medium")
    address = request.query_params.get("address")
    if not medium or not address:
        raise MatrixError(400, "M_MISSING_PARAMS", "medium and address are required")
    if medium != "email":
        raise MatrixError(400, "M_INVALID_PARAM", "Only the email medium is supported")
    return address


async def info(request: Request) -> Response:
    """GET /_matrix/identity/api/v1/info?medium=email&address=... (public)"""
    address = _email_param(request)
    threepids = services(request).threepids
    home = threepids.email_home(address)
    if home is None:
        return json_response({})
    return json_response({"hs": home.server, "invited": await threepids.is_invited(address)})


async def internal_info(request: Request) -> Response:
    """GET /_matrix/identity/api/v1/internal-info: for homeservers of the networks configured."""
    hs = services(request)
    networks = hs.config.policy.email_routing.internal_info_networks
    if not _in_networks(client_ip(request), networks):
        raise forbidden("This endpoint answers only the networks named in the config")
    address = _email_param(request)
    home = hs.threepids.email_home(address)
    if home is None:
        return json_response({})
    return json_response(
        {
            "hs": home.server,
            "requires_invite": home.requires_invite,
            "invited": await hs.threepids.is_invited(address),
        }
    )


def _in_networks(ip: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


async def pubkey_isvalid(request: Request) -> Response:
    """GET /_matrix/identity/v2/pubkey/isvalid: is this the key email invitations are signed with?"""
    key = request.query_params.get("public_key")
    if not key:
        raise MatrixError(400, "M_MISSING_PARAMS", "public_key is required")
    return json_response({"valid": key == services(request).email_invites.public_key()})


async def pubkey(request: Request) -> Response:
    """GET /_matrix/identity/v2/pubkey/{keyId}"""
    hs = services(request)
    if request.path_params["key_id"] != hs.signing_key.key_id:
        raise MatrixError(404, "M_NOT_FOUND", "Unknown key")
    return json_response({"public_key": hs.email_invites.public_key()})


async def store_invite(request: Request) -> Response:
    """POST /_matrix/identity/v2/store-invite

    Sceau is the identity server of the addresses the mapping gives it. Its
    own servers sign the call with their federation key (X-Matrix); others
    use an identity access token from ``account/register``, and then the
    token's user must be the sender (docs/policy.md says why both).
    """
    hs = services(request)
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        user_id = await hs.identity_accounts.user_for(authorization)
        body = await read_json(request)
        if body.get("sender") != user_id:
            raise forbidden("The sender must be the user of the access token")
        origin = server_name_of(user_id)
    else:
        origin, signed_body = await origin_of(request, with_body=True)
        assert signed_body is not None
        body = signed_body
    return json_response(await hs.email_invites.store_for(origin, body))


async def account_register(request: Request) -> Response:
    """POST /_matrix/identity/v2/account/register (an OpenID token buys an access token)"""
    body = await read_json(request)
    return json_response(await services(request).identity_accounts.register(body))


async def account(request: Request) -> Response:
    """GET /_matrix/identity/v2/account"""
    accounts = services(request).identity_accounts
    user_id = await accounts.user_for(request.headers.get("authorization"))
    return json_response({"user_id": user_id})


async def account_logout(request: Request) -> Response:
    """POST /_matrix/identity/v2/account/logout (a body, if any, is checked as /logout's is)"""
    accounts = services(request).identity_accounts
    authorization = request.headers.get("authorization")
    await accounts.user_for(authorization)
    await read_json(request, required=False)
    await accounts.logout(authorization)
    return json_response({})


async def status(_request: Request) -> Response:
    """GET /_matrix/identity/v2: this server is an identity server."""
    return json_response({})


async def terms(_request: Request) -> Response:
    """GET /_matrix/identity/v2/terms: none to accept (the real system's clients accept them
    silently anyway)."""
    return json_response({"policies": {}})


def routes() -> list[BaseRoute]:
    return [
        Route(PREFIX + "/info", info, methods=["GET"]),
        Route(PREFIX + "/internal-info", internal_info, methods=["GET"]),
        Route("/_matrix/identity/v2", status, methods=["GET"]),
        Route("/_matrix/identity/v2/terms", terms, methods=["GET"]),
        Route("/_matrix/identity/v2/account/register", account_register, methods=["POST"]),
        Route("/_matrix/identity/v2/account", account, methods=["GET"]),
        Route("/_matrix/identity/v2/account/logout", account_logout, methods=["POST"]),
        Route("/_matrix/identity/v2/store-invite", store_invite, methods=["POST"]),
        Route("/_matrix/identity/v2/pubkey/isvalid", pubkey_isvalid, methods=["GET"]),
        Route("/_matrix/identity/v2/pubkey/{key_id}", pubkey, methods=["GET"]),
    ]
