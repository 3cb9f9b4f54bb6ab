"""What every federation handler needs: the authenticated origin and its JSON body."""

from typing import Any

from starlette.requests import Request

from sceau.http.common import read_json, services


def request_uri(request: Request) -> str:
    """The request target as sent (path and query), which the X-Matrix signature covers."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    uri = raw.decode("latin-1")
    return uri + "?" + query.decode("latin-1") if query else uri


async def origin_of(request: Request, with_body: bool = False) -> tuple[str, dict[str, Any] | None]:
    """Authenticate the calling server; read the JSON body first when the request has one.

    Raises 401 M_UNAUTHORIZED (no or bad signature, wrong destination) or
    403 M_FORBIDDEN (server off the allowlist, federation disabled).
    """
    fed = services(request).federation
    fed.authenticator.require_enabled()
    body = await read_json(request) if with_body else None
    origin = await fed.authenticator.authenticate(
        request.method, request_uri(request), request.headers.getlist("authorization"), body
    )
    return origin, body
