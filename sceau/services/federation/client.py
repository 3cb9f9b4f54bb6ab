"""Outbound federation requests: discovery, TLS, the X-Matrix signature, typed errors.

Every request another server receives from Sceau goes through
:class:`FederationClient`, which refuses any destination off the allowlist
before anything touches the network.
"""

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson

from sceau.protocol.federation import sign_request
from sceau.protocol.signing import SigningKey
from sceau.services.federation.discovery import Destination, ServerResolver
from sceau.services.federation.policy import FederationPolicy

if TYPE_CHECKING:
    import httpx

#: Largest JSON answer read from another server.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class FederationRequestError(Exception):
    """A request to another server failed: refused locally, unreachable, or an error answer.

    ``status`` is the HTTP status of an answer, or None when no answer came
    (not allowed, connection refused, timeout, bad TLS, malformed answer).
    """

    def __init__(
        self,
        destination: str,
        message: str,
        *,
        status: int | None = None,
        errcode: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{destination}: {message}")
        self.destination = destination
        self.message = message
        self.status = status
        self.errcode = errcode
        self.body = body

    @property
    def retryable(self) -> bool:
        """Worth retrying later: no answer, or a server-side/rate-limit error."""
        return self.status is None or self.status >= 500 or self.status == 429


class DestinationNotAllowed(FederationRequestError):
    """Refused here, before any connection: the destination is off ``federation.allow``."""

    def __init__(self, destination: str) -> None:
        super().__init__(
            destination,
            f"Federation denied with {destination}: it is not in this server's federation.allow",
        )


def make_ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify peers against ``ca_file`` when given, else against the system store."""
    return ssl.create_default_context(cafile=ca_file)


class LazyHttpClient:
    """An ``httpx.AsyncClient`` made at the first request, not at start-up.

    httpx (with httpcore and h2) and a TLS context loaded with the CA store
    cost about 6 MiB of resident memory; a server that never talks to another
    one (federation off, the default) never pays it.
    """

    def __init__(self, make: Callable[[], "httpx.AsyncClient"]) -> None:
        self._make = make
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> "httpx.AsyncClient":
        """The real client, made now if it was not yet."""
        if self._client is None:
            self._client = self._make()
        return self._client

    @property
    def started(self) -> bool:
        return self._client is not None

    def build_request(self, *args: Any, **kwargs: Any) -> "httpx.Request":
        return self.client.build_request(*args, **kwargs)

    async def send(self, request: "httpx.Request", **kwargs: Any) -> "httpx.Response":
        return await self.client.send(request, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> "httpx.Response":
        return await self.client.get(url, **kwargs)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def encode_path(template: str, *parts: str) -> str:
    """Fill ``{}`` in ``template`` with each part percent-encoded (IDs hold ':', '!', '$')."""
    return template.format(*(quote(part, safe="") for part in parts))


class FederationClient:
    def __init__(
        self,
        *,
        policy: FederationPolicy,
        signing_key: SigningKey,
        resolver: ServerResolver,
        http: "httpx.AsyncClient | LazyHttpClient",
    ) -> None:
        self._policy = policy
        self._origin = policy.server_name
        self._key = signing_key
        self._resolver = resolver
        self._http = http

    async def request(
        self,
        method: str,
        destination: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Send a signed request and return the decoded JSON answer.

        ``path`` is already percent-encoded (see :func:`encode_path`). Query
        values may be lists (repeated parameters). Raises FederationRequestError.
        """
        response = await self._send(method, destination, path, query, body, signed=True)
        return _json(destination, response)

    async def request_raw(
        self,
        method: str,
        destination: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> "httpx.Response":
        """A signed request whose answer is not JSON (media); errors still raise."""
        return await self._send(
            method, destination, path, query, None, signed=True, max_bytes=max_bytes
        )

    async def get_unsigned(self, destination: str, path: str) -> Any:
        """An unauthenticated GET (``/_matrix/key/v2/server``), still only to allowed servers."""
        response = await self._send("GET", destination, path, None, None, signed=False)
        return _json(destination, response)

    async def _send(
        self,
        method: str,
        destination: str,
        path: str,
        query: dict[str, Any] | None,
        body: Any,
        *,
        signed: bool,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> "httpx.Response":
        if not self._policy.is_allowed(destination):
            raise DestinationNotAllowed(destination)
        import httpx  # imported on first use: see LazyHttpClient

        uri = path
        if query:
            uri += "?" + urlencode(query, doseq=True)
        try:
            target = await self._resolver.resolve(destination)
        except ValueError as exc:
            raise FederationRequestError(destination, f"invalid server name: {exc}") from None
        headers = {"Host": target.host_header}
        content: bytes | None = None
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        if signed:
            headers["Authorization"] = sign_request(
                method, uri, self._origin, destination, body, self._key
            )
        request = self._http.build_request(
            method,
            _url(target, uri),
            headers=headers,
            content=content,
            extensions={"sni_hostname": target.tls_name},
        )
        try:
            response = await self._http.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FederationRequestError(destination, "answer too large")
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise FederationRequestError(destination, f"{type(exc).__name__}: {exc}") from None
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        }
        response = httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )
        if response.status_code >= 400:
            errcode, error, parsed = _error_of(response)
            raise FederationRequestError(
                destination,
                f"{response.status_code} {errcode or ''} {error}".strip(),
                status=response.status_code,
                errcode=errcode,
                body=parsed,
            )
        return response


def _url(target: Destination, uri: str) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"https://{host}:{target.port}{uri}"


def _json(destination: str, response: "httpx.Response") -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise FederationRequestError(
            destination, "answer is not JSON", status=response.status_code
        ) from None


def _error_of(response: "httpx.Response") -> tuple[str | None, str, Any]:
    try:
        parsed = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None, response.reason_phrase, None
    if isinstance(parsed, dict):
        errcode = parsed.get("errcode")
        error = parsed.get("error")
        return (
            errcode if isinstance(errcode, str) else None,
            error if isinstance(error, str) else "",
            parsed,
        )
    return None, "", parsed
