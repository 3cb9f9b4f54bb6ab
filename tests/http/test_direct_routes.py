"""/sync bypasses Starlette's router and error layers, and answers exactly as through them."""

from urllib.parse import parse_qsl

from starlette.routing import Router

from sceau.http.app import DIRECT_PATHS
from sceau.http.common import parse_query


async def test_sync_is_answered_without_the_router(user_factory, monkeypatch):
    alice = await user_factory("alice")
    routed: list[str] = []
    original = Router.__call__

    async def noting(self, scope, receive, send):
        routed.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(Router, "__call__", noting)
    for path in sorted(DIRECT_PATHS):
        response = await alice.http.get(path, headers=alice.headers)
        assert response.status_code == 200
        assert "next_batch" in response.json()
        assert response.headers["access-control-allow-origin"] == "*"
    await alice.ok("GET", "/account/whoami")
    assert routed == ["/_matrix/client/v3/account/whoami"]


async def test_sync_errors_are_the_matrix_errors_the_router_gives(user_factory, client):
    alice = await user_factory("alice")
    missing = await client.get("/_matrix/client/v3/sync")
    assert missing.status_code == 401
    assert missing.json()["errcode"] == "M_MISSING_TOKEN"
    assert missing.headers["access-control-allow-origin"] == "*"
    unknown = await client.get("/_matrix/client/r0/sync", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    assert unknown.json()["errcode"] == "M_UNKNOWN_TOKEN"
    bad = await alice.http.get(
        "/_matrix/client/v3/sync", params={"set_presence": "away"}, headers=alice.headers
    )
    assert bad.status_code == 400
    assert bad.json()["errcode"] == "M_INVALID_PARAM"


async def test_other_methods_on_sync_still_go_through_the_router(client):
    response = await client.post("/_matrix/client/v3/sync", json={})
    assert response.status_code == 405
    assert response.json()["errcode"] == "M_UNRECOGNIZED"


def test_plain_queries_parse_as_the_standard_parser_would():
    for raw in (
        "",
        "since=s12_3&timeout=30000&filter=0",
        "a=1&a=2&b=&c&&=x",
        "filter=%7B%22room%22%3A%7B%7D%7D&set_presence=offline",
        "q=a+b&x=%20",
    ):
        assert parse_query(raw) == dict(parse_qsl(raw, keep_blank_values=True)), raw
