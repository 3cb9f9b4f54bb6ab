"""Refresh tokens (spec v1.3): expiring access tokens, POST /refresh, rotation, soft logout."""

from pathlib import Path
from typing import Any

import pytest

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from tests.conftest import FAST_HASHER, make_config, register_user
from tests.http.spec_shapes import assert_spec_shape

V3 = "/_matrix/client/v3"
LIFETIME_S = 300


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def services(db, tmp_path: Path, clock):
    return await build_services(
        make_config(tmp_path),
        clock=clock,
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


async def login(client: Any, refresh: bool) -> dict[str, Any]:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "password": "correct horse battery",
        "refresh_token": refresh,
    }
    response = await client.post(V3 + "/login", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def whoami(client: Any, token: str) -> Any:
    return await client.get(V3 + "/account/whoami", headers={"Authorization": f"Bearer {token}"})


async def refresh(client: Any, token: str) -> Any:
    return await client.post(V3 + "/refresh", json={"refresh_token": token})


async def test_a_client_that_asks_gets_an_expiring_token_and_a_refresh_token(client):
    await register_user(client, "alice")
    plain = await login(client, refresh=False)
    assert "refresh_token" not in plain and "expires_in_ms" not in plain
    session = await login(client, refresh=True)
    assert session["expires_in_ms"] == LIFETIME_S * 1000
    assert session["refresh_token"] != session["access_token"]
    assert_spec_shape(V3 + "/login", "post", session)


async def test_an_expired_token_is_a_soft_logout_and_refresh_restores_the_session(client, clock):
    await register_user(client, "alice")
    session = await login(client, refresh=True)
    clock.advance(LIFETIME_S)
    expired = await whoami(client, session["access_token"])
    assert expired.status_code == 401
    assert expired.json()["errcode"] == "M_UNKNOWN_TOKEN"
    assert expired.json()["soft_logout"] is True
    renewed = await refresh(client, session["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert_spec_shape(V3 + "/refresh", "post", body)
    assert (await whoami(client, body["access_token"])).json()["device_id"] == session["device_id"]


async def test_a_used_refresh_token_stops_working_and_its_access_token_dies(client):
    await register_user(client, "alice")
    session = await login(client, refresh=True)
    first = (await refresh(client, session["refresh_token"])).json()
    assert (await whoami(client, session["access_token"])).status_code == 401
    reused = await refresh(client, session["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["errcode"] == "M_UNKNOWN_TOKEN"
    second = await refresh(client, first["refresh_token"])
    assert second.status_code == 200


async def test_logging_out_ends_the_refresh_token_too(client):
    await register_user(client, "alice")
    session = await login(client, refresh=True)
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    assert (await client.post(V3 + "/logout", json={}, headers=headers)).status_code == 200
    assert (await refresh(client, session["refresh_token"])).status_code == 401


async def test_registration_may_ask_for_a_refresh_token(client):
    body = {
        "username": "bob",
        "password": "correct horse battery",
        "auth": {"type": "m.login.dummy"},
        "refresh_token": True,
    }
    response = await client.post(V3 + "/register", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in_ms"] == LIFETIME_S * 1000
    assert (await refresh(client, response.json()["refresh_token"])).status_code == 200


async def test_bad_refresh_requests_are_refused(client):
    assert (await refresh(client, "scr_nonsense")).status_code == 401
    missing = await client.post(V3 + "/refresh", json={})
    assert missing.status_code == 400
    wrong_type = await client.post(V3 + "/refresh", json={"refresh_token": 5})
    assert wrong_type.status_code == 400
