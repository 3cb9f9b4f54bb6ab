"""The probe of the bad-input tests: sends a request, checks the invariants, keeps failures."""

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sceau.homeserver import Services
from tests.http.bad_input_support import Endpoint, World, build_world


@dataclass(frozen=True)
class Failure:
    endpoint: Endpoint
    case: str
    status: int
    message: str


class Probe:
    """Sends requests as the world's user and checks the invariants on every answer.

    Failures are collected rather than raised, so one run reports every broken
    case of an endpoint; :meth:`verdict` ends the test.
    """

    def __init__(
        self, services: Services, http: httpx.AsyncClient, world: World, backend: str
    ) -> None:
        self.services = services
        self.http = http
        self.world = world
        self.backend = backend
        self.failures: list[Failure] = []
        self._snapshot: tuple[int, list[str] | None] | None = None

    def fail(self, endpoint: Endpoint, case: str, status: int, message: str) -> None:
        self.failures.append(Failure(endpoint, case, status, message))

    async def _event_count(self) -> int:
        """Events stored: a refused write may use up a stream position, but adds no event."""
        return int(await self.services.stores.db.fetchval("SELECT COUNT(*) FROM events"))

    async def _state(self) -> tuple[int, list[str] | None]:
        return (await self._event_count(), await self._joined())

    async def _joined(self) -> list[str] | None:
        response = await self.world.alice.request("GET", "/joined_rooms")
        if response.status_code != 200:
            return None
        return sorted(response.json()["joined_rooms"])

    async def send(
        self,
        endpoint: Endpoint,
        case: str,
        *,
        content: bytes | None = None,
        body: Any = None,
        path: str | None = None,
        params: dict[str, str] | None = None,
        token: str | None = "alice",
    ) -> httpx.Response:
        """One request; checks no 5xx, a Matrix error shape, and no write on 4xx."""
        if content is None and body is not None:
            # The standard encoder: orjson refuses integers beyond 64 bits.
            content = json.dumps(body, ensure_ascii=False).encode()
        if content is None and endpoint.takes_body:
            content = b"{}"
        headers = {"Content-Type": "application/json"}
        if token == "alice" and endpoint.path.startswith("/_matrix/identity/v2/"):
            headers["Authorization"] = f"Bearer {self.world.identity_token}"
        elif token == "alice":
            headers["Authorization"] = f"Bearer {self.world.alice.token}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        # What the world looked like; only re-read after something may have changed it.
        before = self._snapshot or await self._state()
        response = await self.http.request(
            endpoint.method,
            path or self.world.fill(endpoint),
            content=content,
            params=params,
            headers=headers,
            timeout=30,
        )
        status = response.status_code
        text = response.text[:300]
        if status >= 500:
            self.fail(endpoint, case, status, f"server error: {status} {text}")
            await self.refresh()
        elif status >= 400:
            data = response.json()
            is_uia = status == 401 and isinstance(data, dict) and "flows" in data
            if not is_uia and not str(_get(data, "errcode")).startswith("M_"):
                self.fail(endpoint, case, status, f"no Matrix errcode: {status} {text}")
            after = await self._state()
            self._snapshot = after
            if after != before:
                self.fail(endpoint, case, status, f"a failed request wrote something: {text}")
                await self.refresh()
        elif endpoint.method != "GET" or before[1] is None:
            self._snapshot = await self._state()
            joined = self._snapshot[1]
            if joined is None or self.world.room_id not in joined:
                await self.refresh()  # the token died or alice left: start again
        return response

    def expect(
        self, response: httpx.Response, endpoint: Endpoint, case: str, status: int, *codes: str
    ) -> None:
        """The answer must be ``status`` with one of ``codes``."""
        errcode = _get(response.json(), "errcode")
        if response.status_code != status or errcode not in codes:
            self.fail(
                endpoint,
                case,
                response.status_code,
                f"expected {status} {'/'.join(codes)}, got {response.status_code} "
                f"{response.text[:300]}",
            )

    async def refresh(self) -> None:
        """A new world: the last request may have changed or destroyed this one."""
        self.world = await build_world(self.services, self.http)
        self._snapshot = None

    def verdict(self) -> None:
        """Fail, listing the first failures, if any request went wrong."""
        if self.failures:
            pytest.fail(
                "\n".join(f"{f.endpoint} [{f.case}]: {f.message}" for f in self.failures[:30]),
                pytrace=False,
            )


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None
