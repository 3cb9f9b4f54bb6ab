"""Every Server-Server endpoint, fed bad input, answers with a Matrix error and never a 5xx.

Routes are read from the app at collection time, so endpoints added later
(the room event graph's) are covered too. For each one:

* without a signature: 401 M_UNAUTHORIZED (the public key endpoints excepted);
* signed by a server off the allowlist: 403 M_FORBIDDEN;
* signed correctly, with bodies that are not JSON or of the wrong shape, and
  path parameters that are junk: a 4xx with an ``M_`` errcode, or a 2xx, never 5xx.
"""

import re

import pytest

from tests.http.bad_input_support import SERVER_SERVER_PREFIXES, _flatten
from tests.http.federation_support import (
    STRANGER,
    STRANGER_KEY,
    federation_overrides,
    signed,
)

PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")
#: Endpoints other servers (and anyone) may call without a signature.
PUBLIC = {
    "/_matrix/key/v2/server",
    "/_matrix/key/v2/query/{server_name}",
    "/_matrix/key/v2/query",
    "/_matrix/federation/v1/version",
    "/_matrix/federation/v1/openid/userinfo",
    # An identity server's callback: its signed blocks vouch for it, checked per invitation.
    "/_matrix/federation/v1/3pid/onbind",
}


def _endpoints() -> list[tuple[str, str]]:
    from sceau.homeserver import all_routes

    found = {
        (method, path)
        for path, methods in _flatten(all_routes())
        if path.startswith(SERVER_SERVER_PREFIXES)
        for method in methods
        if method != "HEAD"
    }
    return sorted(found, key=lambda e: (e[1], e[0]))


ENDPOINTS = _endpoints()
JUNK_PARAMS = ["x", "%00", "@nobody:remote.example:8448", "!nowhere:remote.example:8448", "a" * 300]
BODIES = [b"{not json", b"[]", b"null", b'{"pdus": 3, "edus": {}}', b'{"a": "\\ud800"}', b"{}"]


@pytest.fixture
def config_overrides():
    return federation_overrides()


def _fill(path: str, value: str) -> str:
    return PARAM.sub(value, path)


def _check(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert str(body.get("errcode", "")).startswith("M_"), f"{what}: {response.text[:300]}"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=lambda v: str(v))
async def test_unsigned_requests_are_401_unless_public(client, method, path):
    response = await client.request(
        method, _fill(path, "x"), content=b"{}" if method in ("PUT", "POST") else None
    )
    _check(response, f"{method} {path} unsigned")
    if PARAM.sub("{server_name}", path) not in PUBLIC and path not in PUBLIC:
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.json()["errcode"] == "M_UNAUTHORIZED"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=lambda v: str(v))
async def test_servers_off_the_allowlist_are_403(client, method, path):
    if path in PUBLIC or PARAM.sub("{server_name}", path) in PUBLIC:
        pytest.skip("public endpoint: unsigned, so there is no origin server to refuse")
    body = {} if method in ("PUT", "POST") else None
    response = await signed(
        client, method, _fill(path, "x"), body=body, origin=STRANGER, key=STRANGER_KEY
    )
    assert response.status_code == 403, f"{method} {path}: {response.text}"
    assert response.json()["errcode"] == "M_FORBIDDEN"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=lambda v: str(v))
async def test_signed_junk_never_gets_a_5xx(client, method, path):
    from sceau.protocol.federation import sign_request
    from tests.http.federation_support import HERE, REMOTE, REMOTE_KEY

    for value in JUNK_PARAMS:
        uri = _fill(path, value)
        if method in ("PUT", "POST"):
            for raw in BODIES:
                header = sign_request(method, uri, REMOTE, HERE, None, REMOTE_KEY)
                response = await client.request(
                    method, uri, content=raw, headers={"Authorization": header}
                )
                _check(response, f"{method} {uri} body {raw[:20]!r}")
            response = await signed(client, method, uri, body={"x": [1, {"y": None}]})
        else:
            response = await signed(client, method, uri, query={"limit": "-1", "v": ["a", "b"]})
        _check(response, f"{method} {uri}")
