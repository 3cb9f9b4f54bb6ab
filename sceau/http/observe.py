"""One observation per HTTP request: an access-log line and the request metrics.

The access log (logger ``sceau.access``, on unless ``logging.access_log`` is
false) writes one line per request::

    127.0.0.1 GET /_matrix/client/v3/sync?since=s5&timeout=30000 200 12.4ms @alice:example.org

client address, method, path with its query string, status, duration in
milliseconds, and the authenticated user's ID (``-`` when none). It never
holds an access token: tokens travel in the Authorization header, which is not
logged, and the values of secret-bearing query parameters (``access_token``,
``token``, ``sid``, ``client_secret``, anything naming a password, secret or
token) are replaced by ``<redacted>``.
"""

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sceau.metrics_off import NoMetrics

if TYPE_CHECKING:
    from sceau.metrics import Metrics

ACCESS_LOGGER = "sceau.access"
#: Takes one access-log line (without time stamp, level or logger name).
AccessLogSink = Callable[[str], None]
#: Where the endpoint group and the user ID of a request are noted (scope key).
SCOPE_KEY = "sceau.observed"
REDACTED = "<redacted>"
#: Query parameters whose values are always secret (exact names, lower case).
SECRET_PARAMS = frozenset(
    {"access_token", "token", "sid", "client_secret", "session", "login_token"}
)
#: Parts of a parameter name that mark it secret wherever they appear.
SECRET_PARTS = ("token", "secret", "password", "passwd")


class Observed:
    """What a handler tells the observer about its request."""

    __slots__ = ("user_id",)

    def __init__(self) -> None:
        self.user_id: str | None = None


def note_user(scope: Scope, user_id: str) -> None:
    """Record the authenticated user of this request (for the access log)."""
    observed = scope.get(SCOPE_KEY)
    if observed is not None:
        observed.user_id = user_id


#: Query parameter names known to hold nothing secret (every /sync long-poll's).
PLAIN_PARAMS = frozenset(
    {"since", "timeout", "filter", "set_presence", "full_state", "from", "to", "dir", "limit"}
)


def is_secret(name: str) -> bool:
    if name in PLAIN_PARAMS:
        return False
    lowered = name.lower()
    return lowered in SECRET_PARAMS or any(part in lowered for part in SECRET_PARTS)


def redact_query(query: str) -> str:
    """The query string with the values of secret parameters replaced."""
    if not query:
        return ""
    if "%" not in query and "+" not in query:
        # Nothing encoded: the names are as written, and a query without a
        # secret one (every /sync long-poll's) is logged as the client sent it.
        names = (pair.partition("=")[0] for pair in query.split("&"))
        if not any(is_secret(name) for name in names):
            return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return "" if "=" in query or "&" in query else REDACTED
    return "&".join(
        f"{quote(name, safe='')}={REDACTED if is_secret(name) else quote(value, safe=':,')}"
        for name, value in pairs
    )


def endpoint_group(scope: Scope) -> str:
    """The endpoint module that answered (``sync``, ``rooms``, ``media``...), bounded."""
    if scope.get("method") == "OPTIONS":
        return "preflight"
    endpoint: Any = scope.get("endpoint")
    module = getattr(endpoint, "__module__", "") or ""
    if module.startswith("sceau.http."):
        return module.rsplit(".", 1)[1]
    return "unmatched" if endpoint is None else "other"


class RequestObserver:
    """ASGI middleware: times each request, then logs it and counts it."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: "Metrics | NoMetrics",
        access_log: bool,
        sink: "AccessLogSink | None" = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.logger = logging.getLogger(ACCESS_LOGGER) if access_log else None
        #: Where lines go instead of the ``sceau.access`` logger (the served
        #: process writes them itself, see :class:`sceau.logs.AccessLogWriter`).
        self.sink = sink if access_log else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = Observed()
        scope[SCOPE_KEY] = observed
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.observe(scope, observed, status, time.perf_counter() - started)

    def observe(self, scope: Scope, observed: Observed, status: int, seconds: float) -> None:
        """Count the request and write its access-log line."""
        if self.metrics.enabled:
            self.metrics.observe_request(endpoint_group(scope), scope["method"], status, seconds)
        if self.sink is not None:
            self.sink(self.line(scope, observed, status, seconds))
        elif self.logger is not None:
            self.logger.info("%s", self.line(scope, observed, status, seconds))

    @staticmethod
    def line(scope: Scope, observed: Observed, status: int, seconds: float) -> str:
        client = scope.get("client")
        address = client[0] if client else "-"
        raw = scope.get("raw_path")
        # The path as the client sent it (still percent-encoded), else re-encoded.
        path = (
            raw.split(b"?", 1)[0].decode("latin-1")
            if isinstance(raw, bytes)
            else quote(scope.get("path", ""), safe="/:@!$&'()*+,;=-._~%")
        )
        query = redact_query(scope.get("query_string", b"").decode("latin-1"))
        target = f"{path}?{query}" if query else path
        user = observed.user_id or "-"
        return f"{address} {scope['method']} {target} {status} {seconds * 1000:.1f}ms {user}"
