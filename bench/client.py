"""A deliberately small Matrix Client-Server API client for the benchmark.

It talks HTTP only and imports nothing from ``sceau``, so the same bytes go to
both servers. Every response passes through :class:`Tally`, which is how a
workload knows whether its figures are valid: any unexpected non-2xx status is
an error, and a 429 invalidates a figure even when retried nowhere.
"""

from __future__ import annotations

import itertools
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson


@dataclass
class Tally:
    """Counts responses of one workload on one server."""

    requests: int = 0
    errors: int = 0
    rate_limited: int = 0
    samples: list[str] = field(default_factory=list)

    def record(self, method: str, path: str, status: int, body: bytes) -> None:
        """Count one unexpected response, keeping a few examples for the report."""
        self.errors += 1
        if status == 429:
            self.rate_limited += 1
        if len(self.samples) < 5:
            snippet = body[:200].decode("utf-8", "replace")
            self.samples.append(f"{method} {path} -> {status} {snippet}")


class MatrixError(Exception):
    """An unexpected response; the workload that sees it has failed."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body!r}"[:300])
        self.status = status
        self.body = body


@dataclass
class Session:
    """One logged-in device."""

    user_id: str
    access_token: str
    device_id: str
    localpart: str
    password: str


_txn_counter = itertools.count()


def quote(value: str) -> str:
    """Percent-encode one path segment (room ids contain ``!`` and ``:``)."""
    return urllib.parse.quote(value, safe="")


class Client:
    """Async HTTP client bound to one homeserver and one :class:`Tally`."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession, tally: Tally) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.tally = tally

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        params: dict[str, str] | None = None,
        expect: tuple[int, ...] = (),
        timeout: float = 120.0,
    ) -> tuple[int, Any]:
        """Send one request; raise :class:`MatrixError` on unexpected status."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = orjson.dumps(body) if body is not None else None
        if method in ("POST", "PUT") and data is None:
            data = b"{}"
        self.tally.requests += 1
        try:
            async with self.http.request(
                method,
                self.base_url + path,
                data=data,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            # A dropped connection or a timeout is an error like any bad status.
            self.tally.record(method, path, 0, repr(exc).encode())
            raise MatrixError(0, repr(exc)) from exc
        try:
            parsed: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed, status = raw[:200], (status if status >= 300 else 0)
        if 200 <= status < 300 or status in expect:
            return status, parsed
        self.tally.record(method, path, status, raw)
        raise MatrixError(status, parsed)

    async def timed(self, method: str, path: str, **kwargs: Any) -> tuple[float, Any]:
        """Like :meth:`request`, returning (seconds, body) for a 2xx reply."""
        start = time.perf_counter()
        _, body = await self.request(method, path, **kwargs)
        return time.perf_counter() - start, body

    # --- account -----------------------------------------------------------------

    async def register(self, localpart: str, password: str) -> Session:
        """Register through the UIA dummy stage; the first 401 is expected."""
        path = "/_matrix/client/v3/register"
        body: dict[str, Any] = {"username": localpart, "password": password}
        status, first = await self.request("POST", path, body=body, expect=(401,))
        if status == 401:
            flows = [f.get("stages", []) for f in first.get("flows", [])]
            if ["m.login.dummy"] not in flows:
                raise MatrixError(401, {"error": "no m.login.dummy flow", "flows": flows})
            body["auth"] = {"type": "m.login.dummy", "session": first.get("session")}
            _, first = await self.request("POST", path, body=body)
        return Session(
            first["user_id"], first["access_token"], first["device_id"], localpart, password
        )

    async def login(self, localpart: str, password: str) -> Session:
        """Log in with a password, creating a new device."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        }
        _, reply = await self.request("POST", "/_matrix/client/v3/login", body=body)
        return Session(
            reply["user_id"], reply["access_token"], reply["device_id"], localpart, password
        )

    # --- rooms -------------------------------------------------------------------

    async def create_room(self, s: Session, name: str = "bench") -> str:
        """Create a public room and return its id."""
        body = {"preset": "public_chat", "name": name, "visibility": "private"}
        _, reply = await self.request(
            "POST", "/_matrix/client/v3/createRoom", token=s.access_token, body=body
        )
        return str(reply["room_id"])

    async def join(self, s: Session, room_id: str) -> None:
        """Join a public room."""
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/join"
        await self.request("POST", path, token=s.access_token, body={})

    def send_path(self, room_id: str) -> str:
        """The path of a fresh m.room.message send (unique transaction id)."""
        txn = f"b{time.time_ns()}.{next(_txn_counter)}"
        return f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{txn}"

    async def send_text(self, s: Session, room_id: str, text: str) -> str:
        """Send one text message and return its event id."""
        body = {"msgtype": "m.text", "body": text}
        _, reply = await self.request(
            "PUT", self.send_path(room_id), token=s.access_token, body=body
        )
        return str(reply["event_id"])

    async def sync(
        self,
        s: Session,
        *,
        since: str | None = None,
        filter_json: dict[str, Any] | None = None,
        timeout_ms: int = 0,
    ) -> dict[str, Any]:
        """One /sync call; the filter is sent inline as JSON."""
        params: dict[str, str] = {"timeout": str(timeout_ms)}
        if since is not None:
            params["since"] = since
        if filter_json is not None:
            params["filter"] = orjson.dumps(filter_json).decode()
        _, reply = await self.request(
            "GET",
            "/_matrix/client/v3/sync",
            token=s.access_token,
            params=params,
            timeout=timeout_ms / 1000 + 120,
        )
        return dict(reply)
