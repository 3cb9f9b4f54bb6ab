"""The ASGI application: routes from every endpoint module, errors rendered in one place."""

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sceau import __version__
from sceau.errors import MatrixError, backend_unavailable, unknown, unrecognized
from sceau.http.common import CORS_HEADERS, json_response
from sceau.http.observe import SCOPE_KEY as OBSERVED_KEY
from sceau.http.observe import AccessLogSink, Observed, RequestObserver

logger = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]

CLIENT_PREFIXES = ("/_matrix/client/v3", "/_matrix/client/r0")

#: Stands for a ``%2F`` inside one path segment while routes are matched.
ENCODED_SLASH = "\ufdd0"


def keeping_encoded_slashes(endpoint: Endpoint) -> Endpoint:
    """Give ``endpoint`` its path parameters with ``%2F`` decoded to ``/``.

    Room version 3 event IDs are standard Base64 and may hold ``/``; clients
    send it as ``%2F``, which must stay inside its segment while routing (see
    :class:`EncodedSlashMiddleware`) and become ``/`` in the parameter.
    """

    @functools.wraps(endpoint)  # keeps the endpoint's module: the metrics' endpoint group
    async def wrapped(request: Request) -> Response:
        params = request.scope.get("path_params") or {}
        if any(isinstance(v, str) and ENCODED_SLASH in v for v in params.values()):
            request.scope["path_params"] = {
                k: v.replace(ENCODED_SLASH, "/") if isinstance(v, str) else v
                for k, v in params.items()
            }
        return await endpoint(request)

    return wrapped


class EncodedSlashMiddleware:
    """Routes a path whose segments hold ``%2F`` on its segments, not on ``/``.

    ASGI servers give the decoded path, where an encoded slash splits a
    segment in two and no route matches. The path is rebuilt from
    ``raw_path`` with each encoded slash replaced by :data:`ENCODED_SLASH`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if isinstance(raw, bytes) and b"%2f" in raw.lower():
            segments = raw.split(b"?", 1)[0].split(b"/")
            decoded = [unquote_to_bytes(seg).decode("utf-8", "replace") for seg in segments]
            inner = {**scope, "path": "/".join(d.replace("/", ENCODED_SLASH) for d in decoded)}
            try:
                await self.app(inner, receive, send)
            finally:
                if "endpoint" in inner:  # which endpoint answered, for the request observer
                    scope["endpoint"] = inner["endpoint"]
            return
        await self.app(scope, receive, send)


def client_routes(
    specs: Sequence[tuple[str, str, Endpoint]], versions: Sequence[str] = CLIENT_PREFIXES
) -> list[BaseRoute]:
    """Routes for ``(method, path, endpoint)`` under each client API prefix."""
    routes: list[BaseRoute] = []
    for method, path, endpoint in specs:
        for prefix in versions:
            routes.append(Route(prefix + path, keeping_encoded_slashes(endpoint), methods=[method]))
    return routes


async def _matrix_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MatrixError)
    headers = None
    if exc.errcode == "M_LIMIT_EXCEEDED" and "retry_after_ms" in exc.extra:
        headers = {"Retry-After": str(max(1, int(exc.extra["retry_after_ms"]) // 1000))}
    response = json_response(exc.to_json(), exc.status)
    if headers:
        response.headers.update(headers)
    return response


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return json_response(unrecognized("Method not allowed", 405).to_json(), 405)
    if exc.status_code == 404:
        return json_response(unrecognized().to_json(), 404)
    return json_response(unknown(str(exc.detail), exc.status_code).to_json(), exc.status_code)


async def _unexpected_error(_request: Request, exc: Exception) -> Response:
    if backend_unavailable(exc):
        logger.warning("database or Redis unavailable: %s: %s", type(exc).__name__, exc)
        response = json_response(
            unknown("Service temporarily unavailable, retry shortly", 503).to_json(), 503
        )
        response.headers["Retry-After"] = "1"
        return response
    logger.exception("unexpected error", exc_info=exc)
    return json_response(unknown("Internal server error", 500).to_json(), 500)


class CorsMiddleware:
    """Answers preflight requests and adds CORS headers, so browser clients work.

    Every response also names Sceau in its ``Server`` header rather than the
    web framework underneath.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._raw = self.raw_headers()

    @staticmethod
    def raw_headers() -> list[tuple[bytes, bytes]]:
        """The headers every response gains: CORS, and the ``Server`` name."""
        raw = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]
        raw.append((b"server", f"Sceau/{__version__}".encode()))
        return raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        *self._raw,
                        (b"content-length", b"2"),
                        (b"content-type", b"application/json"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"{}"})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._raw]
            await send(message)

        await self.app(scope, receive, send_with_cors)


#: Paths answered by :class:`DirectRoutes`: every client re-polls /sync after each reply.
DIRECT_PATHS = frozenset(prefix + "/sync" for prefix in CLIENT_PREFIXES)


async def render_error(request: Request, exc: Exception) -> Response:
    """The response for an exception, as the application's exception handlers make it."""
    if isinstance(exc, MatrixError):
        return await _matrix_error(request, exc)
    if isinstance(exc, HTTPException):
        return await _http_error(request, exc)
    return await _unexpected_error(request, exc)


class DirectRoutes:
    """Serves a few hot static paths without the middleware stack, router and error layers.

    In a room of thousands, each message wakes thousands of long-polls and
    each reply brings the next request: the layers every request crosses
    (observer, CORS, the encoded-slash rewrite, two error middlewares, the
    router, two endpoint wrappers, as many wrappers of ``send``, and
    Starlette's response object) are then a large share of the server's CPU.
    Here the endpoint's response is sent as two messages with the same
    headers, errors are rendered as the application renders them, and the
    request is observed (metrics, access log) as :class:`RequestObserver`
    would.
    """

    def __init__(
        self, app: Starlette, observer: RequestObserver, routes: dict[tuple[str, str], Endpoint]
    ) -> None:
        self.app = app
        #: The whole stack (observer, CORS, encoded slashes, Starlette), for every other path.
        self._observer = observer
        self._routes = routes
        self._extra_headers = CorsMiddleware.raw_headers()

    @classmethod
    def of(
        cls, app: Starlette, observer: RequestObserver, routes: list[BaseRoute]
    ) -> "DirectRoutes":
        """Takes the endpoints of :data:`DIRECT_PATHS` (GET only) from ``routes``."""
        direct = {
            ("GET", route.path): route.endpoint
            for route in routes
            if isinstance(route, Route)
            and route.path in DIRECT_PATHS
            and "GET" in (route.methods or ())
        }
        return cls(app, observer, direct)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = None
        if scope["type"] == "http":
            endpoint = self._routes.get((scope["method"], scope["path"]))
        if endpoint is None:
            await self._observer(scope, receive, send)
            return
        started = time.perf_counter()
        observed = Observed()
        scope[OBSERVED_KEY] = observed
        scope["app"] = self.app
        scope["endpoint"] = endpoint
        scope["path_params"] = {}
        status = 500
        try:
            request = Request(scope, receive)
            try:
                response = await endpoint(request)
            except Exception as exc:
                response = await render_error(request, exc)
            status = response.status_code
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [*response.raw_headers, *self._extra_headers],
                }
            )
            await send({"type": "http.response.body", "body": response.body})
        finally:
            self._observer.observe(scope, observed, status, time.perf_counter() - started)


def build_app(
    services: Any, routes: list[BaseRoute], access_sink: AccessLogSink | None = None
) -> ASGIApp:
    app = Starlette(
        routes=routes,
        exception_handlers={
            MatrixError: _matrix_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.services = services
    observer = RequestObserver(
        CorsMiddleware(EncodedSlashMiddleware(app)),
        services.metrics,
        services.config.logging.access_log,
        access_sink,
    )
    return DirectRoutes.of(app, observer, routes)
