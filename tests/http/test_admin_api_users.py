"""The Synapse-compatible user admin API: only server admins, Synapse's shapes, real effects."""

from urllib.parse import quote

import pytest

from tests.conftest import create_local_user, register_user
from tests.http.admin_api_support import call, errcode, make_admin, ok

U = "/v2/users"


@pytest.fixture
async def admin(services, client):
    return await make_admin(services, client, "root")


def q(user_id: str) -> str:
    return quote(user_id, safe="")


async def test_server_version_answers_admins_only(admin, services, client):
    assert (await ok(admin, "GET", "/v1/server_version"))["server_version"].startswith("Sceau")
    bob = await create_local_user(services, client, "bob")
    response = await call(bob, "GET", "/v1/server_version")
    assert (response.status_code, errcode(response)) == (403, "M_FORBIDDEN")
    response = await call(None, "GET", "/v1/server_version", http=client)
    assert (response.status_code, errcode(response)) == (401, "M_MISSING_TOKEN")


async def test_every_user_endpoint_refuses_non_admins_with_forbidden(services, client):
    bob = await create_local_user(services, client, "bob")
    target = q(bob.user_id)
    for method, path, body in [
        ("GET", U, None),
        ("GET", f"{U}/{target}", None),
        ("PUT", f"{U}/{target}", {"admin": True}),
        ("GET", f"{U}/{target}/devices", None),
        ("GET", f"/v1/users/{target}/joined_rooms", None),
        ("POST", f"/v1/deactivate/{target}", {}),
        ("POST", f"/v1/reset_password/{target}", {"new_password": "x"}),
    ]:
        response = await call(bob, method, path, json=body)
        assert (response.status_code, errcode(response)) == (403, "M_FORBIDDEN"), path
    assert not (await services.stores.accounts.get_user(bob.user_id)).is_admin


async def test_list_users_pages_with_next_token_and_total(admin, services, client):
    for name in ("carol", "dave", "erin", "frank"):
        await create_local_user(services, client, name)
    first = await ok(admin, "GET", U, params={"limit": "2"})
    assert first["total"] == 5
    assert [u["name"] for u in first["users"]] == ["@carol:test.local", "@dave:test.local"]
    assert first["next_token"] == "2"
    second = await ok(admin, "GET", U, params={"limit": "2", "from": first["next_token"]})
    assert [u["name"] for u in second["users"]] == ["@erin:test.local", "@frank:test.local"]
    last = await ok(admin, "GET", U, params={"limit": "2", "from": "4"})
    assert [u["name"] for u in last["users"]] == ["@root:test.local"]
    assert "next_token" not in last
    user = last["users"][0]
    assert user["admin"] is True and user["deactivated"] is False and user["is_guest"] is False
    assert isinstance(user["creation_ts"], int)


async def test_list_users_filters_by_name_and_hides_deactivated_unless_asked(
    admin, services, client
):
    carol = await create_local_user(services, client, "carol")
    await create_local_user(services, client, "dave")
    await ok(admin, "PUT", f"{U}/{q(carol.user_id)}", json={"displayname": "Carole Martin"})
    found = await ok(admin, "GET", U, params={"name": "MARTIN"})
    assert [u["name"] for u in found["users"]] == [carol.user_id]
    await ok(admin, "POST", f"/v1/deactivate/{q(carol.user_id)}", json={})
    listed = await ok(admin, "GET", U)
    assert carol.user_id not in [u["name"] for u in listed["users"]]
    listed = await ok(admin, "GET", U, params={"deactivated": "true"})
    assert carol.user_id in [u["name"] for u in listed["users"]]


async def test_list_users_orders_by_creation_ts_and_direction(admin, services, client):
    await create_local_user(services, client, "zoe")
    await create_local_user(services, client, "amy")
    names = [u["name"] for u in (await ok(admin, "GET", U, params={"dir": "b"}))["users"]]
    assert names == sorted(names, reverse=True)
    by_ts = await ok(admin, "GET", U, params={"order_by": "creation_ts"})
    stamps = [u["creation_ts"] for u in by_ts["users"]]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    "params",
    [{"order_by": "shoe_size"}, {"dir": "sideways"}, {"limit": "-1"}, {"from": "x"}],
)
async def test_list_users_refuses_bad_parameters(admin, params):
    response = await call(admin, "GET", U, params=params)
    assert (response.status_code, errcode(response)) == (400, "M_INVALID_PARAM")


async def test_get_user_shows_the_account_and_errors_for_unknown_or_remote(admin, client):
    shown = await ok(admin, "GET", f"{U}/{q(admin.user_id)}")
    assert shown["name"] == admin.user_id and shown["admin"] is True
    assert shown["threepids"] == [] and shown["deactivated"] is False
    response = await call(admin, "GET", f"{U}/{q('@nobody:test.local')}")
    assert (response.status_code, errcode(response)) == (404, "M_NOT_FOUND")
    response = await call(admin, "GET", f"{U}/{q('@x:elsewhere.example')}")
    assert (response.status_code, errcode(response)) == (400, "M_INVALID_PARAM")
    response = await call(admin, "GET", f"{U}/not-a-user-id")
    assert (response.status_code, errcode(response)) == (400, "M_INVALID_PARAM")


async def test_put_user_creates_an_account_that_can_log_in(admin, client):
    body = {"password": "s3cret pass", "displayname": "Gaston", "admin": False}
    created = await ok(admin, "PUT", f"{U}/{q('@gaston:test.local')}", status=201, json=body)
    assert created["name"] == "@gaston:test.local" and created["displayname"] == "Gaston"
    login = await client.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "gaston", "password": "s3cret pass"},
    )
    assert login.status_code == 200, login.text


async def test_put_user_modifies_admin_flag_and_password_logging_devices_out(
    admin, services, client
):
    bob = await register_user(client, "bob", "old password")
    target = f"{U}/{q(bob.user_id)}"
    changed = await ok(admin, "PUT", target, json={"admin": True, "password": "new password"})
    assert changed["admin"] is True
    response = await bob.request("GET", "/account/whoami")
    assert (response.status_code, errcode(response)) == (401, "M_UNKNOWN_TOKEN")
    login = await client.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "bob", "password": "new password"},
    )
    assert login.status_code == 200


async def test_put_user_can_keep_devices_when_logout_devices_is_false(admin, client):
    bob = await register_user(client, "bob")
    body = {"password": "another one", "logout_devices": False}
    await ok(admin, "PUT", f"{U}/{q(bob.user_id)}", json=body)
    assert (await bob.request("GET", "/account/whoami")).status_code == 200


async def test_put_user_refuses_demoting_oneself_and_wrong_types(admin):
    response = await call(admin, "PUT", f"{U}/{q(admin.user_id)}", json={"admin": False})
    assert (response.status_code, errcode(response)) == (400, "M_INVALID_PARAM")
    response = await call(admin, "PUT", f"{U}/{q(admin.user_id)}", json={"admin": "yes"})
    assert (response.status_code, errcode(response)) == (400, "M_BAD_JSON")


async def test_deactivate_drops_tokens_and_leaves_rooms(admin, services, client):
    bob = await create_local_user(services, client, "bob")
    room = await admin.ok("POST", "/createRoom", json={"invite": [bob.user_id]})
    await bob.ok("POST", f"/join/{room['room_id']}", json={})
    joined = await ok(admin, "GET", f"/v1/users/{q(bob.user_id)}/joined_rooms")
    assert joined == {"joined_rooms": [room["room_id"]], "total": 1}
    result = await ok(admin, "POST", f"/v1/deactivate/{q(bob.user_id)}", json={"erase": True})
    assert result == {"id_server_unbind_result": "success"}
    response = await bob.request("GET", "/account/whoami")
    assert (response.status_code, errcode(response)) == (401, "M_UNKNOWN_TOKEN")
    shown = await ok(admin, "GET", f"{U}/{q(bob.user_id)}")
    assert shown["deactivated"] is True
    joined = await ok(admin, "GET", f"/v1/users/{q(bob.user_id)}/joined_rooms")
    assert joined == {"joined_rooms": [], "total": 0}
    members = await admin.ok("GET", f"/rooms/{room['room_id']}/joined_members")
    assert bob.user_id not in members["joined"]


async def test_put_user_reactivates_a_deactivated_account_only_with_a_password(admin, client):
    bob = await register_user(client, "bob")
    target = f"{U}/{q(bob.user_id)}"
    await ok(admin, "PUT", target, json={"deactivated": True})
    response = await call(admin, "PUT", target, json={"deactivated": False})
    assert (response.status_code, errcode(response)) == (400, "M_MISSING_PARAM")
    back = await ok(admin, "PUT", target, json={"deactivated": False, "password": "back again"})
    assert back["deactivated"] is False
    login = await client.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "bob", "password": "back again"},
    )
    assert login.status_code == 200


async def test_deactivate_unknown_user_is_not_found(admin):
    response = await call(admin, "POST", f"/v1/deactivate/{q('@ghost:test.local')}", json={})
    assert (response.status_code, errcode(response)) == (404, "M_NOT_FOUND")


async def test_reset_password_ends_sessions_unless_told_not_to(admin, client):
    bob = await register_user(client, "bob")
    path = f"/v1/reset_password/{q(bob.user_id)}"
    await ok(admin, "POST", path, json={"new_password": "kept", "logout_devices": False})
    assert (await bob.request("GET", "/account/whoami")).status_code == 200
    assert await ok(admin, "POST", path, json={"new_password": "fresh one"}) == {}
    assert (await bob.request("GET", "/account/whoami")).status_code == 401
    login = await client.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "bob", "password": "fresh one"},
    )
    assert login.status_code == 200


async def test_reset_password_errors(admin):
    path = f"/v1/reset_password/{q(admin.user_id)}"
    response = await call(admin, "POST", path, json={})
    assert (response.status_code, errcode(response)) == (400, "M_MISSING_PARAM")
    response = await call(admin, "POST", path, json={"new_password": ""})
    assert (response.status_code, errcode(response)) == (400, "M_WEAK_PASSWORD")
    ghost = f"/v1/reset_password/{q('@ghost:test.local')}"
    response = await call(admin, "POST", ghost, json={"new_password": "x"})
    assert (response.status_code, errcode(response)) == (404, "M_NOT_FOUND")


async def test_user_devices_lists_each_device_with_total(admin, client):
    bob = await register_user(client, "bob")
    listed = await ok(admin, "GET", f"{U}/{q(bob.user_id)}/devices")
    assert listed["total"] == 1
    device = listed["devices"][0]
    assert device["device_id"] == bob.device_id and device["user_id"] == bob.user_id
    response = await call(admin, "GET", f"{U}/{q('@ghost:test.local')}/devices")
    assert (response.status_code, errcode(response)) == (404, "M_NOT_FOUND")
