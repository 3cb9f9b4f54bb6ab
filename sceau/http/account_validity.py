"""Account renewal (account validity): the emailed link and the request for a new one."""

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from sceau.http.app import client_routes
from sceau.http.common import json_response, read_json, requester, services

_RENEWED = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{server}</title></head>
<body><p>Votre compte est prolongé. Vous pouvez revenir à votre application.</p>
<p>Your account is renewed. You may return to your application.</p></body></html>
"""
_INVALID = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{server}</title></head>
<body><p>Ce lien n'est pas valide ou a déjà servi. Demandez-en un nouveau depuis votre application.</p>
<p>This link is invalid or was already used. Ask your application for a new one.</p></body></html>
"""


async def send_mail(request: Request) -> Response:
    """POST /_matrix/client/unstable/account_validity/send_mail (works for expired accounts)"""
    who = await requester(request, allow_expired=True)
    await read_json(request, required=False)
    await services(request).account_renewal.send_mail_now(who.user_id)
    return json_response({})


async def renew(request: Request) -> Response:
    """GET /_matrix/client/unstable/account_validity/renew?token=... (the emailed link)"""
    hs = services(request)
    renewed = await hs.account_renewal.renew(request.query_params.get("token", ""))
    server = escape(hs.config.server_name)
    if renewed is None:
        return HTMLResponse(_INVALID.format(server=server), status_code=404)
    return HTMLResponse(_RENEWED.format(server=server))


def routes() -> list[BaseRoute]:
    return client_routes(
        [
            ("POST", "/account_validity/send_mail", send_mail),
            ("GET", "/account_validity/renew", renew),
        ],
        versions=("/_matrix/client/unstable",),
    )
