"""The outbound federation client is made at the first request, once, and only then closed."""

from typing import Any

import httpx

from sceau.services.federation.client import LazyHttpClient


class _Made:
    def __init__(self) -> None:
        self.count = 0
        self.clients: list[httpx.AsyncClient] = []

    def __call__(self) -> httpx.AsyncClient:
        self.count += 1

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"path": request.url.path})

        client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        self.clients.append(client)
        return client


async def test_client_is_made_at_the_first_request_and_reused() -> None:
    made = _Made()
    lazy = LazyHttpClient(made)
    assert made.count == 0 and not lazy.started
    first: Any = await lazy.get("https://a.test/one")
    request = lazy.build_request("GET", "https://a.test/two")
    second: Any = await lazy.send(request)
    assert (first.json(), second.json()) == ({"path": "/one"}, {"path": "/two"})
    assert made.count == 1
    await lazy.aclose()
    assert made.clients[0].is_closed


async def test_closing_an_unused_client_makes_none() -> None:
    made = _Made()
    lazy = LazyHttpClient(made)
    await lazy.aclose()
    assert made.count == 0 and not lazy.started
