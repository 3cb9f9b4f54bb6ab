"""GET /_matrix/key/v2/server and the notary endpoints /_matrix/key/v2/query."""

import pytest

from sceau.protocol.federation import check_server_keys
from tests.http.federation_support import check_shape, federation_overrides


@pytest.fixture
def config_overrides():
    return federation_overrides()


async def test_server_keys_are_self_signed_and_valid_in_the_future(client, services):
    response = await client.get("/_matrix/key/v2/server")
    assert response.status_code == 200
    check_shape("/_matrix/key/v2/server", "GET", response)
    body = response.json()
    assert body["server_name"] == "test.local"
    assert body["valid_until_ts"] > services.clock.time_ms()
    (key,) = check_server_keys(body, "test.local")
    assert key.key == services.signing_key.verify_key_bytes


async def test_notary_get_answers_our_own_keys(client):
    response = await client.get("/_matrix/key/v2/query/test.local")
    assert response.status_code == 200
    check_shape("/_matrix/key/v2/query/{serverName}", "GET", response)
    (keys,) = response.json()["server_keys"]
    assert keys["server_name"] == "test.local"


async def test_notary_answers_nothing_for_a_server_it_has_not_cached(client, services):
    response = await client.post(
        "/_matrix/key/v2/query", json={"server_keys": {"other.example": {}}}
    )
    assert response.status_code == 200
    check_shape("/_matrix/key/v2/query", "POST", response)
    assert response.json() == {"server_keys": []}


async def test_notary_serves_cached_keys_countersigned(client, services):
    from tests.services.test_federation_keys import THEIRS, FakeRemote

    remote = FakeRemote(services.clock)
    services.federation.keys.fetch = remote
    await services.federation.keys.verify_key("remote.example", THEIRS.key_id)
    response = await client.post(
        "/_matrix/key/v2/query", json={"server_keys": {"remote.example": {THEIRS.key_id: {}}}}
    )
    check_shape("/_matrix/key/v2/query", "POST", response)
    (keys,) = response.json()["server_keys"]
    assert set(keys["signatures"]) == {"remote.example", "test.local"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"server_keys": []},
        {"server_keys": {"bad name!": {}}},
        {"server_keys": {"a.example": []}},
        {"server_keys": {"a.example": {"ed25519:x": 1}}},
    ],
)
async def test_notary_post_with_bad_bodies_is_400(client, body):
    response = await client.post("/_matrix/key/v2/query", json=body)
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_BAD_JSON"


async def test_notary_get_with_bad_name_or_timestamp_is_400(client):
    assert (await client.get("/_matrix/key/v2/query/bad%20name")).status_code == 400
    response = await client.get("/_matrix/key/v2/query/a.example?minimum_valid_until_ts=x")
    assert response.json()["errcode"] == "M_INVALID_PARAM"


async def test_version_names_the_server(client):
    response = await client.get("/_matrix/federation/v1/version")
    check_shape("/_matrix/federation/v1/version", "GET", response)
    assert response.json()["server"]["name"] == "Sceau"
