"""Email addresses: requestToken, the emailed validation link, the bound list, the server lookup."""

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sceau.errors import missing_param
from sceau.http.app import client_routes
from sceau.http.common import client_ip, get_field, json_response, read_json, requester, services
from sceau.services.threepid import ADD, PASSWORD, REGISTER

_VALIDATED_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{server}</title></head>
<body><p>Votre adresse est validée. Revenez à votre application pour continuer.</p>
<p>Your email address is validated. Return to your application to continue.</p></body></html>
"""


async def _request_token(request: Request, purpose: str) -> Response:
    body = await read_json(request)
    client_secret = get_field(body, "client_secret", str, required=True)
    email = get_field(body, "email", str, required=True)
    send_attempt = get_field(body, "send_attempt", int, required=True)
    next_link = get_field(body, "next_link", str)
    get_field(body, "id_server", str)
    get_field(body, "id_access_token", str)
    sid = await services(request).threepids.request_email_token(
        purpose, client_secret, email, send_attempt, next_link, client_ip(request)
    )
    return json_response({"sid": sid})


async def register_request_token(request: Request) -> Response:
    """POST /_matrix/client/v3/register/email/requestToken

    Only addresses of a domain this server owns (``registration.email_domains``)
    and not yet bound to an account get a validation email.
    """
    return await _request_token(request, REGISTER)


async def password_request_token(request: Request) -> Response:
    """POST /_matrix/client/v3/account/password/email/requestToken"""
    return await _request_token(request, PASSWORD)


async def add_request_token(request: Request) -> Response:
    """POST /_matrix/client/v3/account/3pid/email/requestToken (needs a token)"""
    await requester(request)
    return await _request_token(request, ADD)


async def add_threepid(request: Request) -> Response:
    """POST /_matrix/client/v3/account/3pid/add (UIA m.login.password)"""
    who = await requester(request)
    body = await read_json(request)
    client_secret = get_field(body, "client_secret", str, required=True)
    sid = get_field(body, "sid", str, required=True)
    hs = services(request)
    hs.threepids.check_changes_allowed()

    async def check(_stage: str, auth: dict[str, Any]) -> None:
        await hs.uia.check_password_stage(who.user_id, auth)

    await hs.uia.run(
        body.get("auth"), [["m.login.password"]], check, fingerprint=f"3pid_add:{who.user_id}"
    )
    await hs.threepids.add_for_user(who.user_id, sid, client_secret)
    return json_response({})


async def delete_threepid(request: Request) -> Response:
    """POST /_matrix/client/v3/account/3pid/delete"""
    who = await requester(request)
    body = await read_json(request)
    medium = get_field(body, "medium", str, required=True)
    address = get_field(body, "address", str, required=True)
    get_field(body, "id_server", str)
    await services(request).threepids.delete_for_user(who.user_id, medium, address)
    return json_response({"id_server_unbind_result": "no-support"})


async def submit_token(request: Request) -> Response:
    """GET /_matrix/client/unstable/registration/email/submit_token (the emailed link)

    Marks the session validated, then redirects to the client's http(s)
    ``next_link`` or shows a short page.
    """
    params = {}
    for name in ("token", "client_secret", "sid"):
        value = request.query_params.get(name)
        if not value:
            raise missing_param(name)
        params[name] = value
    hs = services(request)
    next_link = await hs.threepids.submit_token(
        params["sid"], params["client_secret"], params["token"]
    )
    if next_link and next_link.startswith(("https://", "http://")):
        return RedirectResponse(next_link, status_code=302)
    return HTMLResponse(_VALIDATED_PAGE.format(server=escape(hs.config.server_name)))


async def third_party_ids(request: Request) -> Response:
    """GET /_matrix/client/v3/account/3pid"""
    who = await requester(request)
    return json_response(
        {"threepids": await services(request).threepids.threepids_json(who.user_id)}
    )


async def email_server(request: Request) -> Response:
    """GET /_sceau/v1/email_server?address=...

    Unauthenticated: which ministry's server an agent with this address
    registers on, so clients can send them there.
    """
    address = request.query_params.get("address")
    if not address:
        raise missing_param("address")
    return json_response({"server_name": services(request).threepids.server_for_email(address)})


def routes() -> list[BaseRoute]:
    return [
        *client_routes(
            [
                ("POST", "/register/email/requestToken", register_request_token),
                ("POST", "/account/password/email/requestToken", password_request_token),
                ("GET", "/account/3pid", third_party_ids),
                ("POST", "/account/3pid/email/requestToken", add_request_token),
                ("POST", "/account/3pid/add", add_threepid),
                ("POST", "/account/3pid/delete", delete_threepid),
            ]
        ),
        *client_routes(
            [
                ("GET", "/registration/email/submit_token", submit_token),
                ("GET", "/password_reset/email/submit_token", submit_token),
                ("GET", "/add_threepid/email/submit_token", submit_token),
            ],
            versions=("/_matrix/client/unstable",),
        ),
        Route("/_sceau/v1/email_server", email_server, methods=["GET"]),
    ]
