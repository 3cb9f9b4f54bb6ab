"""GET /admin/whois/{userId}: a server admin about any local user, a user about themselves."""

from urllib.parse import quote

import pytest

from tests.conftest import MatrixUser
from tests.http.spec_shapes_support import check_shape

WHOIS = "/_matrix/client/v3/admin/whois/{userId}"


def whois_path(user_id: str) -> str:
    return "/admin/whois/" + quote(user_id, safe="@:")


async def make_admin(services, client, localpart: str) -> MatrixUser:
    user_id = f"@{localpart}:{services.config.server_name}"
    token, token_hash = services.auth.new_access_token()
    now = services.clock.time_ms()
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.insert_user(txn, user_id, None, now, is_admin=True)
        await services.stores.accounts.upsert_device(txn, user_id, "ADMINDEV", None, now)
        await services.stores.accounts.insert_token(txn, token_hash, user_id, "ADMINDEV", now)
    return MatrixUser(client, user_id, token, "ADMINDEV")


async def add_unused_device(services, user: MatrixUser, device_id: str) -> None:
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.upsert_device(
            txn, user.user_id, device_id, None, services.clock.time_ms()
        )


def expect_error(response, status: int, errcode: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode


async def test_a_user_sees_their_own_devices_with_last_ip_and_time(user_factory, services):
    alice = await user_factory("alice")
    await add_unused_device(services, alice, "NEVERUSED")
    before = services.clock.time_ms()
    response = await alice.request("GET", whois_path(alice.user_id))
    assert response.status_code == 200, response.text
    check_shape(WHOIS, "GET", response)
    body = response.json()
    assert body["user_id"] == alice.user_id
    assert set(body["devices"]) == {alice.device_id, "NEVERUSED"}
    [session] = body["devices"][alice.device_id]["sessions"]
    [connection] = session["connections"]
    assert connection["ip"] == "127.0.0.1"
    assert before <= connection["last_seen"] <= services.clock.time_ms()
    assert "user_agent" not in connection  # not stored
    # A device that never made a request since logging in has no connection yet.
    assert body["devices"]["NEVERUSED"] == {"sessions": [{"connections": []}]}


async def test_a_server_admin_may_ask_about_any_local_user(user_factory, services, client):
    admin = await make_admin(services, client, "root")
    alice = await user_factory("alice")
    await alice.ok("GET", "/account/whoami")
    response = await admin.request("GET", whois_path(alice.user_id))
    assert response.status_code == 200, response.text
    check_shape(WHOIS, "GET", response)
    assert list(response.json()["devices"]) == [alice.device_id]


@pytest.mark.parametrize("target", ["@bob:test.local", "@nobody:test.local", "@x:other.example"])
async def test_others_are_refused_whether_the_user_exists_or_not(user_factory, target):
    alice = await user_factory("alice")
    await user_factory("bob")
    expect_error(await alice.request("GET", whois_path(target)), 403, "M_FORBIDDEN")


@pytest.mark.parametrize("target", ["@nobody:test.local", "@x:other.example"])
async def test_an_admin_asking_about_an_unknown_or_remote_user_gets_404(services, client, target):
    admin = await make_admin(services, client, "root")
    expect_error(await admin.request("GET", whois_path(target)), 404, "M_NOT_FOUND")


async def test_an_admin_asking_about_a_malformed_user_id_gets_invalid_param(services, client):
    admin = await make_admin(services, client, "root")
    expect_error(await admin.request("GET", whois_path("not-a-user")), 400, "M_INVALID_PARAM")


async def test_a_deactivated_user_has_no_sessions_left(user_factory, services, client):
    admin = await make_admin(services, client, "root")
    alice = await user_factory("alice")
    await services.accounts.deactivate_user(alice.user_id)
    body = await admin.ok("GET", whois_path(alice.user_id))
    assert body == {"user_id": alice.user_id, "devices": {}}


async def test_whois_needs_an_access_token(client):
    response = await client.get("/_matrix/client/v3" + whois_path("@a:test.local"))
    expect_error(response, 401, "M_MISSING_TOKEN")
