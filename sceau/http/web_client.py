"""The web client at ``/``: its built files, ``/config.json``, and the headers that protect it.

Hashed assets are cached forever; ``index.html`` is revalidated on every load
so a new build is picked up at once. Client routes (``/room/...``) answer
``index.html`` (the client routes itself), but never a path of the Matrix,
admin or discovery APIs: those keep their ``M_UNRECOGNIZED`` answers.
"""

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from sceau.errors import unrecognized
from sceau.http.common import json_response, services
from sceau.services.web_client import StaticFile, WebClientFiles, client_config, dist_folder

#: First path segments the client never answers (APIs, discovery, probes).
RESERVED_SEGMENTS = frozenset({"health", "metrics"})

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def content_security_policy(base_url: str) -> str:
    """No inline script, no eval but WebAssembly's (the Rust crypto), no framing.

    ``connect-src`` allows the homeserver's public URL as well as the page's
    own origin, for deployments where the two differ.
    """
    origin = base_url.rstrip("/")
    connect = "'self'" if not origin else f"'self' {origin}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            "media-src 'self' blob:",
            "font-src 'self'",
            f"connect-src {connect}",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(request: Request) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(services(request).config.base_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def _files(request: Request) -> WebClientFiles:
    """The build folder, or M_UNRECOGNIZED when the admin turned the client off."""
    config = services(request).config
    if not config.web_client.enabled:
        raise unrecognized()
    return WebClientFiles(dist_folder(config))


def _file_response(request: Request, found: StaticFile) -> Response:
    headers = security_headers(request)
    headers["Cache-Control"] = IMMUTABLE if found.immutable else REVALIDATE
    headers["ETag"] = found.etag
    if found.has_variants:
        headers["Vary"] = "Accept-Encoding"
    if found.encoding:
        headers["Content-Encoding"] = found.encoding
    if found.etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return FileResponse(
        found.path, headers=headers, media_type=found.content_type, stat_result=found.stat
    )


def _etags(header: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (header or "").split(",") if tag.strip()}


def _not_built(request: Request) -> Response:
    """A page that says how to build the client, rather than a bare API error.

    404 (there is no client here), and no server path: visitors need not know it.
    """
    body = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sceau: the web client is not built</title></head>
<body>
<main>
<h1>The web client is not built</h1>
<p>This Sceau server is running, but it found no built web client in the
folder set by <code>web_client.path</code> (by default <code>web/dist</code>
in the Sceau checkout; the server's log names the folder).</p>
<p>Build it from the repository with <code>cd web &amp;&amp; npm ci &amp;&amp;
npm run build</code>, or start the server with <code>./scripts/serve</code>,
which builds it when it is missing or stale.</p>
<p>Matrix clients can use this server already:
<a href="/.well-known/matrix/client">/.well-known/matrix/client</a>.</p>
</main>
</body>
</html>
"""
    headers = security_headers(request)
    headers["Cache-Control"] = "no-store"
    return HTMLResponse(body, status_code=404, headers=headers)


async def index(request: Request) -> Response:
    """GET / and every client route: the client's ``index.html``."""
    files = _files(request)
    found = files.find("index.html", request.headers.get("accept-encoding"))
    if found is None:
        return _not_built(request)
    return _file_response(request, found)


async def static_file(request: Request) -> Response:
    """GET /assets/{path}, /favicon.svg...: one built file, precompressed when accepted."""
    files = _files(request)
    path = request.path_params["path"]
    found = files.find(path, request.headers.get("accept-encoding"))
    if found is not None:
        return _file_response(request, found)
    if path.startswith("assets/"):
        return PlainTextResponse("Not found", status_code=404, headers=security_headers(request))
    # Anything else is a route inside the client, which routes itself.
    return await index(request)


async def config_json(request: Request) -> Response:
    """GET /config.json: this deployment's settings for the client (no build per deployment)."""
    if not services(request).config.web_client.enabled:
        raise unrecognized()
    response = json_response(client_config(services(request).config))
    response.headers["Cache-Control"] = REVALIDATE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class ClientRoute(BaseRoute):
    """Matches GET/HEAD of any path outside the reserved ones, and nothing else.

    A plain ``/{path:path}`` route would also match other methods partially
    and turn the API's 404 for unknown endpoints into 405s.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await static_file(request)
        await response(scope, receive, send)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return Match.NONE, {}
        path = scope["path"].lstrip("/")
        first = path.split("/", 1)[0]
        if not path or first.startswith(("_", ".")) or first in RESERVED_SEGMENTS:
            return Match.NONE, {}
        return Match.FULL, {"path_params": {**scope.get("path_params", {}), "path": path}}


def routes() -> list[BaseRoute]:
    """Last in the route list: every API route is tried first."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/config.json", config_json, methods=["GET"]),
        ClientRoute(),
    ]
