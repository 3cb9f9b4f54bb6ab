"""What every federation handler needs: the authenticated origin and its JSON body."""

from typing import Any

import orjson
from starlette.requests import Request

from sceau.errors import bad_json, not_json, too_large
from sceau.http.common import services

#: A transaction may carry 50 PDUs of up to 64 KiB each, plus 100 EDUs.
MAX_FEDERATION_BODY = 8 * 1024 * 1024


async def read_federation_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object (M_NOT_JSON, M_BAD_JSON, M_TOO_LARGE otherwise)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_FEDERATION_BODY:
        raise too_large()
    body = await request.body()
    if len(body) > MAX_FEDERATION_BODY:
        raise too_large()
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise not_json() from None
    if not isinstance(value, dict):
        raise bad_json("Request body must be a JSON object")
    return value


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
    body = await read_federation_json(request) if with_body else None
    origin = await fed.authenticator.authenticate(
        request.method, request_uri(request), request.headers.getlist("authorization"), body
    )
    return origin, body
