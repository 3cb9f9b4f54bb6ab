"""OpenID: POST /user/{userId}/openid/request_token and GET /federation/v1/openid/userinfo."""

from tests.http.federation_support import check_shape
from tests.http.spec_shapes_support import check_shape as check_client_shape


async def test_a_token_names_its_user_to_userinfo(client, user_factory):
    alice = await user_factory("alice")
    response = await alice.request("POST", f"/user/{alice.user_id}/openid/request_token", json={})
    assert response.status_code == 200
    check_client_shape("/_matrix/client/v3/user/{userId}/openid/request_token", "POST", response)
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["matrix_server_name"] == "test.local"
    assert token["expires_in"] == 3600
    info = await client.get(
        "/_matrix/federation/v1/openid/userinfo", params={"access_token": token["access_token"]}
    )
    assert info.status_code == 200
    check_shape("/_matrix/federation/v1/openid/userinfo", "GET", info)
    assert info.json() == {"sub": alice.user_id}


async def test_tokens_are_stored_hashed(services, user_factory):
    alice = await user_factory("alice")
    token = (await alice.ok("POST", f"/user/{alice.user_id}/openid/request_token", json={}))[
        "access_token"
    ]
    stored = await services.stores.db.fetchall("SELECT token_hash FROM openid_tokens")
    assert stored and all(token not in row[0] for row in stored)


async def test_unknown_or_missing_token_is_refused(client):
    unknown = await client.get(
        "/_matrix/federation/v1/openid/userinfo", params={"access_token": "nope"}
    )
    assert (unknown.status_code, unknown.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    missing = await client.get("/_matrix/federation/v1/openid/userinfo")
    assert (missing.status_code, missing.json()["errcode"]) == (400, "M_MISSING_PARAM")


async def test_a_token_for_someone_else_is_forbidden(user_factory):
    alice = await user_factory("alice")
    response = await alice.request("POST", "/user/@bob:test.local/openid/request_token", json={})
    assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")


async def test_expired_tokens_are_refused(client, services, user_factory):
    alice = await user_factory("alice")
    token = (await alice.ok("POST", f"/user/{alice.user_id}/openid/request_token", json={}))[
        "access_token"
    ]
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE openid_tokens SET expires_ts = 1")
    info = await client.get(
        "/_matrix/federation/v1/openid/userinfo", params={"access_token": token}
    )
    assert info.status_code == 401
