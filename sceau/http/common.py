"""What every handler needs: JSON in and out, the requester, typed parameters.

Parameter helpers raise the spec's errors (M_NOT_JSON, M_BAD_JSON,
M_MISSING_PARAM, M_INVALID_PARAM) so handlers stay a few lines long.
"""

from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sceau.errors import bad_json, invalid_param, missing_param, not_json, too_large
from sceau.http.observe import note_user

if TYPE_CHECKING:
    from sceau.homeserver import Services
    from sceau.services.auth import Requester

T = TypeVar("T")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization, Date",
}


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(data: Any, status: int = 200) -> Response:
    return JsonResponse(data, status_code=status)


def services(request: Request) -> "Services":
    return request.app.state.services  # type: ignore[no-any-return]


def _authorization(request: Request) -> str | None:
    """The Authorization header, read from the raw ASGI headers.

    Every request is authenticated, and building Starlette's ``Headers`` for
    one lookup was a tenth of a woken long-poll's CPU.
    """
    for name, value in request.scope["headers"]:
        if name == b"authorization" or (len(name) == 13 and name.lower() == b"authorization"):
            return value.decode("latin-1")
    return None


def access_token(request: Request) -> str | None:
    header = _authorization(request)
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return query(request).get("access_token")


async def requester(request: Request, allow_expired: bool = False) -> "Requester":
    """Authenticate the request, or raise M_MISSING_TOKEN / M_UNKNOWN_TOKEN.

    An expired account (account validity) gets ORG_MATRIX_EXPIRED_ACCOUNT,
    except where ``allow_expired`` (logging out).
    """
    hs = services(request)
    who = await hs.auth.authenticate(access_token(request), client_ip(request), allow_expired)
    note_user(request.scope, who.user_id)
    return who


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def read_json(request: Request, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object.

    An empty body counts as ``{}`` when ``required`` is false (clients send
    none to /logout, /join and friends).
    """
    limit = services(request).config.limits.max_request_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large()
    body = await request.body()
    if len(body) > limit:
        raise too_large()
    if not body.strip():
        if required:
            raise not_json()
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise not_json() from None
    if not isinstance(value, dict):
        raise bad_json("Request body must be a JSON object")
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH:
        _check_depth(value)
    return value


#: Deeper JSON than this is refused: nothing in Matrix needs it, and the
#: encoder that stores it would fail further down.
MAX_JSON_DEPTH = 100


def _check_depth(value: Any) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise bad_json(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def get_field(
    body: dict[str, Any], key: str, kind: type[T], required: bool = False, default: Any = None
) -> Any:
    """``body[key]`` checked against ``kind`` (bool is never accepted as int)."""
    if key not in body or body[key] is None:
        if required:
            raise missing_param(key)
        return default
    value = body[key]
    if kind is int and isinstance(value, bool):
        raise bad_json(f"'{key}' must be an integer")
    if not isinstance(value, kind):
        raise bad_json(f"'{key}' must be of type {_type_name(kind)}")
    return value


def get_str_list(body: dict[str, Any], key: str) -> list[str]:
    value = get_field(body, key, list, default=[])
    if not all(isinstance(v, str) for v in value):
        raise bad_json(f"'{key}' must be a list of strings")
    return list(value)


#: Where :func:`query` keeps the parsed query string of a request (scope key).
QUERY_KEY = "sceau.query"


def query(request: Request) -> dict[str, str]:
    """The query string as a plain dict (the last value of a repeated name wins).

    Parsed once per request. Unlike Starlette's ``QueryParams``, looking up
    an absent name raises and catches nothing: every /sync long-poll asks
    for several that clients leave out.
    """
    parsed: dict[str, str] | None = request.scope.get(QUERY_KEY)
    if parsed is None:
        parsed = parse_query(request.scope.get("query_string", b"").decode("latin-1"))
        request.scope[QUERY_KEY] = parsed
    return parsed


def parse_query(raw: str) -> dict[str, str]:
    """What ``dict(parse_qsl(raw, keep_blank_values=True))`` gives, quicker for plain queries.

    A query with nothing encoded (every /sync long-poll's) is split as it is.
    """
    if "%" in raw or "+" in raw:
        return dict(parse_qsl(raw, keep_blank_values=True))
    parsed: dict[str, str] = {}
    for pair in raw.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            parsed[name] = value
    return parsed


def query_int(
    request: Request, name: str, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = query(request).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(f"'{name}' must be an integer") from None
    if value < minimum:
        raise invalid_param(f"'{name}' must be at least {minimum}")
    if maximum is not None:
        value = min(value, maximum)
    return value


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    raw = query(request).get(name)
    if raw is None:
        return default
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise invalid_param(f"'{name}' must be true or false")


def _type_name(kind: type) -> str:
    return {str: "string", int: "integer", bool: "boolean", dict: "object", list: "array"}.get(
        kind, kind.__name__
    )
