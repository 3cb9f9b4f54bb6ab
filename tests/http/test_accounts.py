"""Registration, login, logout, whoami, password change and deactivation over HTTP."""

import asyncio
from typing import Any

import pytest

V3 = "/_matrix/client/v3"
PASSWORD = "correct horse battery"
TOKEN_MODE = {"registration": {"mode": "token", "tokens": ["invite-2026"]}}
RATE_LIMITED = {
    "rate_limits": {
        "enabled": True,
        "registration": {"per_second": 0.001, "burst": 2},
        "login": {"per_second": 0.001, "burst": 2},
    }
}


def password_auth(user_id: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        **extra,
    }


async def post(client, path: str, body: Any = None, token: str | None = None, **kwargs: Any):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(V3 + path, json=body, headers=headers, **kwargs)


async def login(client, user: Any, password: str = PASSWORD, **extra: Any):
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}}
    return await post(client, "/login", {**body, "password": password, **extra})


def error(response, status: int, errcode: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data = response.json()
    assert data["errcode"] == errcode, data
    return data


# ---------------------------------------------------------------- registration


async def test_register_with_dummy_auth_returns_a_working_session(client):
    body = {"username": "alice", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    response = await post(client, "/register", body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["user_id"] == "@alice:test.local"
    assert data["home_server"] == "test.local"
    assert "refresh_token" not in data
    me = await client.get(
        V3 + "/account/whoami", headers={"Authorization": f"Bearer {data['access_token']}"}
    )
    assert me.json() == {
        "user_id": "@alice:test.local",
        "device_id": data["device_id"],
        "is_guest": False,
    }


async def test_register_without_auth_gets_a_uia_challenge_that_a_session_completes(client):
    body = {"username": "alice", "password": PASSWORD}
    challenge = await post(client, "/register", body)
    assert challenge.status_code == 401
    data = challenge.json()
    assert data["flows"] == [{"stages": ["m.login.dummy"]}]
    session = data["session"]
    done = await post(
        client, "/register", {**body, "auth": {"type": "m.login.dummy", "session": session}}
    )
    assert done.status_code == 200, done.text
    assert done.json()["user_id"] == "@alice:test.local"


async def test_register_with_an_unknown_uia_session_is_refused(client):
    body = {
        "username": "alice",
        "password": PASSWORD,
        "auth": {"type": "m.login.dummy", "session": "nope"},
    }
    response = await post(client, "/register", body)
    assert response.status_code == 400
    assert response.json()["errcode"].startswith("M_")


@pytest.mark.parametrize("config_overrides", [{"registration": {"mode": "closed"}}])
async def test_closed_registration_is_forbidden(client):
    body = {"username": "alice", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    error(await post(client, "/register", body), 403, "M_FORBIDDEN")
    error(await client.get(V3 + "/register/available?username=alice"), 403, "M_FORBIDDEN")


@pytest.mark.parametrize("config_overrides", [TOKEN_MODE])
async def test_token_registration_needs_a_configured_token(client):
    body = {"username": "alice", "password": PASSWORD}
    challenge = await post(client, "/register", body)
    assert challenge.status_code == 401
    assert challenge.json()["flows"] == [
        {"stages": ["m.login.registration_token", "m.login.dummy"]}
    ]
    assert "errcode" not in challenge.json()
    dummy = await post(client, "/register", {**body, "auth": {"type": "m.login.dummy"}})
    assert dummy.status_code == 401 and dummy.json()["completed"] == ["m.login.dummy"]
    wrong = {"type": "m.login.registration_token", "token": "guess"}
    refused = await post(client, "/register", {**body, "auth": wrong})
    assert refused.status_code == 401 and refused.json()["errcode"] == "M_FORBIDDEN"
    right = {"type": "m.login.registration_token", "token": "invite-2026"}
    token_done = await post(client, "/register", {**body, "auth": right})
    assert token_done.status_code == 401
    assert token_done.json()["completed"] == ["m.login.registration_token"]
    last = {"type": "m.login.dummy", "session": token_done.json()["session"]}
    accepted = await post(client, "/register", {**body, "auth": last})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["user_id"] == "@alice:test.local"


@pytest.mark.parametrize("config_overrides", [TOKEN_MODE])
async def test_registration_token_validity_reports_configured_tokens(client):
    path = "/_matrix/client/v1/register/m.login.registration_token/validity"
    assert (await client.get(path, params={"token": "invite-2026"})).json() == {"valid": True}
    assert (await client.get(path, params={"token": "other"})).json() == {"valid": False}
    error(await client.get(path), 400, "M_MISSING_PARAM")


async def test_guest_registration_is_refused(client):
    body = {"username": "alice", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    error(await post(client, "/register?kind=guest", body), 403, "M_GUEST_ACCESS_FORBIDDEN")
    error(await post(client, "/register?kind=robot", body), 400, "M_INVALID_PARAM")


@pytest.mark.parametrize(
    "username",
    ["al ice", "alice:evil", "élise", "", "a\u0000b", "x" * 250, "alice@x", "\U0001f389"],
)
async def test_invalid_usernames_are_refused(client, username):
    body = {"username": username, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    error(await post(client, "/register", body), 400, "M_INVALID_USERNAME")
    response = await client.get(V3 + "/register/available", params={"username": username})
    if username:
        error(response, 400, "M_INVALID_USERNAME")
    else:
        error(response, 400, "M_MISSING_PARAM")


async def test_usernames_are_lowercased_and_taken_ones_refused(client, register):
    await register("alice")
    body = {"username": "ALICE", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    error(await post(client, "/register", body), 400, "M_USER_IN_USE")
    error(await client.get(V3 + "/register/available?username=Alice"), 400, "M_USER_IN_USE")
    free = await client.get(V3 + "/register/available?username=bob")
    assert free.status_code == 200 and free.json() == {"available": True}
    bob = await post(client, "/register", {**body, "username": "Bob.Smith-2"})
    assert bob.json()["user_id"] == "@bob.smith-2:test.local"


async def test_a_localpart_is_generated_when_no_username_is_given(client):
    body = {"password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    first = (await post(client, "/register", body)).json()["user_id"]
    second = (await post(client, "/register", body)).json()["user_id"]
    assert first != second
    assert first.endswith(":test.local") and first.startswith("@")
    assert (await login(client, first)).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        ({"username": "alice", "auth": {"type": "m.login.dummy"}}, 400, "M_MISSING_PARAM"),
        (
            {"username": "alice", "password": 5, "auth": {"type": "m.login.dummy"}},
            400,
            "M_BAD_JSON",
        ),
        ({"username": ["alice"], "password": "p"}, 400, "M_BAD_JSON"),
        ({"username": "alice", "password": "p", "auth": "dummy"}, 400, "M_BAD_JSON"),
        ({"username": "alice", "password": "p", "inhibit_login": "yes"}, 400, "M_BAD_JSON"),
        ({"username": "alice", "password": "p", "device_id": 12}, 400, "M_BAD_JSON"),
        ({"username": "alice", "password": "p", "refresh_token": "yes"}, 400, "M_BAD_JSON"),
        (
            {"username": "alice", "password": "", "auth": {"type": "m.login.dummy"}},
            400,
            "M_WEAK_PASSWORD",
        ),
        ({"username": "alice", "password": "p" * 513}, 400, "M_INVALID_PARAM"),
        ({"username": "alice", "password": "p", "device_id": "a\nb"}, 400, "M_INVALID_PARAM"),
        (
            {"username": "alice", "password": "p", "initial_device_display_name": "x" * 300},
            400,
            "M_INVALID_PARAM",
        ),
    ],
)
async def test_malformed_registrations_get_the_spec_error_and_create_nothing(
    client, services, body, status, errcode
):
    error(await post(client, "/register", body), status, errcode)
    assert await services.stores.accounts.list_users() == []


@pytest.mark.parametrize("content", [b"{nope", b"", b"\xff"])
async def test_register_with_a_body_that_is_not_json_gets_not_json(client, content):
    response = await client.post(V3 + "/register", content=content)
    error(response, 400, "M_NOT_JSON")
    error(await client.post(V3 + "/register", content=b"[1]"), 400, "M_BAD_JSON")


async def test_inhibit_login_creates_the_account_without_a_session(client, services):
    body = {
        "username": "alice",
        "password": PASSWORD,
        "inhibit_login": True,
        "auth": {"type": "m.login.dummy"},
    }
    data = (await post(client, "/register", body)).json()
    assert data == {"user_id": "@alice:test.local", "home_server": "test.local"}
    assert await services.stores.accounts.get_devices("@alice:test.local") == []
    assert (await login(client, "alice")).status_code == 200


async def test_register_keeps_the_requested_device_id_and_name(client, services):
    body = {
        "username": "alice",
        "password": PASSWORD,
        "device_id": "MYLAPTOP",
        "initial_device_display_name": "Laptop",
        "refresh_token": True,
        "auth": {"type": "m.login.dummy"},
    }
    data = (await post(client, "/register", body)).json()
    assert data["device_id"] == "MYLAPTOP"
    assert data["refresh_token"].startswith("scr_")
    device = await services.stores.accounts.get_device("@alice:test.local", "MYLAPTOP")
    assert device is not None and device.display_name == "Laptop"


@pytest.mark.parametrize("config_overrides", [RATE_LIMITED])
async def test_registration_is_rate_limited_per_ip(client):
    for name in ("a1", "a2"):
        body = {"username": name, "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
        assert (await post(client, "/register", body)).status_code == 200
    body = {"username": "a3", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    limited = error(await post(client, "/register", body), 429, "M_LIMIT_EXCEEDED")
    assert limited["retry_after_ms"] > 0


# ------------------------------------------------------------------------ login


async def test_login_lists_the_password_flow(client):
    response = await client.get(V3 + "/login")
    assert response.json() == {"flows": [{"type": "m.login.password"}]}


@pytest.mark.parametrize("user", ["alice", "ALICE", "@alice:test.local", "@Alice:test.local"])
async def test_login_accepts_localpart_any_case_and_full_user_id(client, register, user):
    alice = await register("alice")
    response = await login(client, user, initial_device_display_name="Phone")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["user_id"] == alice.user_id
    assert data["device_id"] != alice.device_id
    assert data["well_known"] == {"m.homeserver": {"base_url": "http://test.local:8008/"}}
    assert "refresh_token" not in data
    devices = await alice.ok("GET", "/devices")
    names = {d["device_id"]: d.get("display_name") for d in devices["devices"]}
    assert names[data["device_id"]] == "Phone"


async def test_login_accepts_the_legacy_user_field(client, register):
    alice = await register("alice")
    body = {"type": "m.login.password", "user": "alice", "password": PASSWORD}
    response = await post(client, "/login", body)
    assert response.status_code == 200 and response.json()["user_id"] == alice.user_id


@pytest.mark.parametrize(
    ("user", "password"),
    [("alice", "wrong"), ("nobody", PASSWORD), ("@alice:elsewhere.org", PASSWORD), ("a:b", "x")],
)
async def test_wrong_password_or_unknown_user_is_forbidden(client, register, user, password):
    await register("alice")
    error(await login(client, user, password), 403, "M_FORBIDDEN")


async def test_relogin_on_the_same_device_replaces_its_tokens(client, register):
    alice = await register("alice")
    first = (
        await login(client, "alice", device_id="KEEP", initial_device_display_name="One")
    ).json()
    second = (
        await login(client, "alice", device_id="KEEP", initial_device_display_name="Two")
    ).json()
    assert first["device_id"] == second["device_id"] == "KEEP"
    old = await client.get(
        V3 + "/account/whoami", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    error(old, 401, "M_UNKNOWN_TOKEN")
    devices = (await alice.ok("GET", "/devices"))["devices"]
    keep = [d for d in devices if d["device_id"] == "KEEP"]
    assert keep == [{**keep[0], "display_name": "One"}]
    assert len(devices) == 2


@pytest.mark.parametrize(
    ("body", "status", "errcode"),
    [
        ({"type": "m.login.password", "user": "alice"}, 400, "M_MISSING_PARAM"),
        ({"user": "alice", "password": "p"}, 400, "M_MISSING_PARAM"),
        ({"type": "m.login.password", "password": "p"}, 400, "M_MISSING_PARAM"),
        ({"type": 1, "user": "alice", "password": "p"}, 400, "M_BAD_JSON"),
        ({"type": "m.login.password", "user": ["alice"], "password": "p"}, 400, "M_BAD_JSON"),
        ({"type": "m.login.password", "user": "alice", "password": 1}, 400, "M_BAD_JSON"),
        ({"type": "m.login.password", "identifier": "alice", "password": "p"}, 400, "M_BAD_JSON"),
        (
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": 3},
                "password": "p",
            },
            400,
            "M_BAD_JSON",
        ),
        (
            {"type": "m.login.password", "identifier": {"user": "alice"}, "password": "p"},
            400,
            "M_MISSING_PARAM",
        ),
        (
            {"type": "m.login.password", "identifier": {"type": "m.id.phone"}, "password": "p"},
            400,
            "M_UNKNOWN",
        ),
        ({"type": "m.login.token", "token": "t"}, 400, "M_UNKNOWN"),
        (
            {"type": "m.login.password", "user": "alice", "password": "p", "device_id": ""},
            400,
            "M_INVALID_PARAM",
        ),
    ],
)
async def test_malformed_logins_get_the_spec_error(client, body, status, errcode):
    error(await post(client, "/login", body), status, errcode)


@pytest.mark.parametrize("config_overrides", [RATE_LIMITED])
async def test_login_is_rate_limited_per_ip(client):
    for _ in range(2):
        error(await login(client, "nobody", "x"), 403, "M_FORBIDDEN")
    error(await login(client, "nobody", "x"), 429, "M_LIMIT_EXCEEDED")


# --------------------------------------------------------------- logout, whoami


async def test_logout_deletes_the_device_and_its_token_only(client, register):
    alice = await register("alice")
    other = (await login(client, "alice")).json()
    assert (await alice.request("POST", "/logout")).status_code == 200
    error(await alice.request("GET", "/account/whoami"), 401, "M_UNKNOWN_TOKEN")
    headers = {"Authorization": f"Bearer {other['access_token']}"}
    devices = (await client.get(V3 + "/devices", headers=headers)).json()["devices"]
    assert [d["device_id"] for d in devices] == [other["device_id"]]


async def test_logout_all_ends_every_session(client, register):
    alice = await register("alice")
    other = (await login(client, "alice")).json()
    assert (await alice.request("POST", "/logout/all", json={})).status_code == 200
    for token in (alice.token, other["access_token"]):
        response = await client.get(
            V3 + "/account/whoami", headers={"Authorization": f"Bearer {token}"}
        )
        error(response, 401, "M_UNKNOWN_TOKEN")
    assert (await login(client, "alice")).status_code == 200


async def test_whoami_without_a_token_is_missing_token(client):
    error(await client.get(V3 + "/account/whoami"), 401, "M_MISSING_TOKEN")


# ----------------------------------------------------------------- password


async def test_password_change_needs_the_current_password(client, register):
    alice = await register("alice")
    body = {"new_password": "new secret"}
    challenge = await alice.request("POST", "/account/password", json=body)
    assert challenge.status_code == 401
    assert challenge.json()["flows"] == [{"stages": ["m.login.password"]}]
    session = challenge.json()["session"]
    wrong = {**body, "auth": password_auth(alice.user_id, "nope", session=session)}
    refused = await alice.request("POST", "/account/password", json=wrong)
    assert refused.status_code == 401 and refused.json()["errcode"] == "M_FORBIDDEN"
    error(await login(client, "alice", "new secret"), 403, "M_FORBIDDEN")


async def test_password_change_logs_out_other_devices_but_keeps_this_one(client, register):
    alice = await register("alice")
    other = (await login(client, "alice")).json()
    body = {"new_password": "new secret", "auth": password_auth(alice.user_id)}
    await alice.ok("POST", "/account/password", json=body)
    error(await login(client, "alice"), 403, "M_FORBIDDEN")
    assert (await login(client, "alice", "new secret")).status_code == 200
    assert (await alice.ok("GET", "/account/whoami"))["user_id"] == alice.user_id
    stale = await client.get(
        V3 + "/account/whoami", headers={"Authorization": f"Bearer {other['access_token']}"}
    )
    error(stale, 401, "M_UNKNOWN_TOKEN")


async def test_password_change_without_logout_keeps_other_devices(client, register):
    alice = await register("alice")
    other = (await login(client, "alice")).json()
    body = {
        "new_password": "new secret",
        "logout_devices": False,
        "auth": password_auth("alice"),
    }
    await alice.ok("POST", "/account/password", json=body)
    headers = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await client.get(V3 + "/account/whoami", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({}, "M_MISSING_PARAM"),
        ({"new_password": 7}, "M_BAD_JSON"),
        ({"new_password": "x", "logout_devices": "no"}, "M_BAD_JSON"),
        ({"new_password": "x", "auth": []}, "M_BAD_JSON"),
    ],
)
async def test_malformed_password_changes_get_the_spec_error(register, body, errcode):
    alice = await register("alice")
    error(await alice.request("POST", "/account/password", json=body), 400, errcode)


# --------------------------------------------------------------- deactivation


async def test_deactivation_kills_tokens_blocks_login_and_leaves_rooms(client, register, services):
    alice = await register("alice")
    bob = await register("bob")
    room = (await bob.ok("POST", "/createRoom", json={"invite": [alice.user_id]}))["room_id"]
    await alice.ok("POST", f"/join/{room}", json={})
    challenge = await alice.request("POST", "/account/deactivate", json={})
    assert challenge.status_code == 401 and challenge.json()["flows"] == [
        {"stages": ["m.login.password"]}
    ]
    done = await alice.ok(
        "POST", "/account/deactivate", json={"auth": password_auth(alice.user_id)}
    )
    assert done == {"id_server_unbind_result": "no-support"}
    error(await alice.request("GET", "/account/whoami"), 401, "M_UNKNOWN_TOKEN")
    error(await login(client, "alice"), 403, "M_USER_DEACTIVATED")
    assert await services.stores.state.membership(room, alice.user_id) == "leave"
    assert await services.stores.accounts.get_devices(alice.user_id) == []
    body = {"username": "alice", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    error(await post(client, "/register", body), 400, "M_USER_IN_USE")


async def test_deactivation_with_a_wrong_password_changes_nothing(client, register):
    alice = await register("alice")
    response = await alice.request(
        "POST", "/account/deactivate", json={"auth": password_auth(alice.user_id, "wrong")}
    )
    assert response.status_code == 401 and response.json()["errcode"] == "M_FORBIDDEN"
    assert (await alice.request("GET", "/account/whoami")).status_code == 200
    assert (await login(client, "alice")).status_code == 200


async def test_deactivation_with_erase_clears_the_profile(client, register):
    alice = await register("alice")
    await alice.ok("PUT", f"/profile/{alice.user_id}/displayname", json={"displayname": "Alice"})
    body = {"auth": password_auth(alice.user_id), "erase": True}
    await alice.ok("POST", "/account/deactivate", json=body)
    assert (await client.get(V3 + f"/profile/{alice.user_id}")).json() == {}


async def test_concurrent_registrations_of_one_name_give_one_account_and_one_user_in_use(client):
    body = {"username": "race", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    responses = await asyncio.gather(*(post(client, "/register", body) for _ in range(4)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 400, 400, 400], [r.text for r in responses]
    assert all(r.json()["errcode"] == "M_USER_IN_USE" for r in responses if r.status_code == 400)


async def test_concurrent_logins_on_one_device_id_all_succeed(client, register):
    alice = await register("alice")
    responses = await asyncio.gather(*(login(client, "alice", device_id="SAME") for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    devices = (await alice.ok("GET", "/devices"))["devices"]
    assert sorted(d["device_id"] for d in devices) == sorted([alice.device_id, "SAME"])
