"""Account expiry (Synapse's account validity): expired accounts are refused until extended."""

from pathlib import Path

import pytest

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from tests.conftest import FAST_HASHER, create_local_user, make_config, register_user
from tests.http.admin_api_support import call, errcode, make_admin, ok

DAY_MS = 86_400_000
VALIDITY = "/v1/account_validity/validity"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config_overrides():
    return {"account_validity": {"enabled": True, "period_ms": 30 * DAY_MS}}


@pytest.fixture
async def services(db, tmp_path: Path, config_overrides, clock):
    return await build_services(
        make_config(tmp_path, **config_overrides),
        clock=clock,
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


@pytest.fixture
async def admin(services, client):
    return await make_admin(services, client, "root")


def refused_as_expired(response) -> bool:
    return (response.status_code, errcode(response)) == (403, "ORG_MATRIX_EXPIRED_ACCOUNT")


async def test_new_accounts_expire_after_the_period_but_may_still_log_out(client, clock):
    bob = await register_user(client, "bob")
    assert (await bob.request("GET", "/account/whoami")).status_code == 200
    clock.advance(30 * 86_400 - 1)
    assert (await bob.request("GET", "/account/whoami")).status_code == 200
    clock.advance(1)
    assert refused_as_expired(await bob.request("GET", "/account/whoami"))
    assert refused_as_expired(await bob.request("GET", "/sync?timeout=0"))
    assert (await bob.request("POST", "/logout", json={})).status_code == 200
    response = await bob.request("GET", "/account/whoami")
    assert (response.status_code, errcode(response)) == (401, "M_UNKNOWN_TOKEN")


async def test_admin_expiry_takes_effect_at_once_and_extension_restores_access(
    admin, services, client, clock
):
    bob = await create_local_user(services, client, "bob")
    # A first request caches the token's owner: the change below must not be hidden by it.
    assert (await bob.request("GET", "/account/whoami")).status_code == 200
    past = clock.time_ms() - 1
    body = {"user_id": bob.user_id, "expiration_ts": past}
    assert await ok(admin, "POST", VALIDITY, json=body) == {"expiration_ts": past}
    assert refused_as_expired(await bob.request("GET", "/account/whoami"))
    assert (await ok(admin, "GET", f"/v2/users/{bob.user_id}"))["expiration_ts"] == past
    renewed = await ok(admin, "POST", VALIDITY, json={"user_id": bob.user_id})
    assert renewed == {"expiration_ts": clock.time_ms() + 30 * DAY_MS}
    assert (await bob.request("GET", "/account/whoami")).status_code == 200


async def test_validity_endpoint_errors(admin, services, client):
    bob = await create_local_user(services, client, "bob")
    response = await call(bob, "POST", VALIDITY, json={"user_id": bob.user_id})
    assert (response.status_code, errcode(response)) == (403, "M_FORBIDDEN")
    response = await call(None, "POST", VALIDITY, json={"user_id": bob.user_id}, http=client)
    assert (response.status_code, errcode(response)) == (401, "M_MISSING_TOKEN")
    response = await call(admin, "POST", VALIDITY, json={})
    assert (response.status_code, errcode(response)) == (400, "M_MISSING_PARAM")
    response = await call(admin, "POST", VALIDITY, json={"user_id": "@ghost:test.local"})
    assert (response.status_code, errcode(response)) == (404, "M_NOT_FOUND")
    for bad in ("soon", 1.5, -1):
        body = {"user_id": bob.user_id, "expiration_ts": bad}
        response = await call(admin, "POST", VALIDITY, json=body)
        assert response.status_code == 400, bad
        assert errcode(response) in ("M_BAD_JSON", "M_INVALID_PARAM")


class TestWithoutAPeriod:
    @pytest.fixture
    def config_overrides(self):
        return {}

    async def test_accounts_never_expire_and_the_default_needs_expiration_ts(
        self, admin, client, clock
    ):
        bob = await register_user(client, "bob")
        clock.advance(10 * 365 * 86_400)
        assert (await bob.request("GET", "/account/whoami")).status_code == 200
        response = await call(admin, "POST", VALIDITY, json={"user_id": bob.user_id})
        assert (response.status_code, errcode(response)) == (400, "M_MISSING_PARAM")
        soon = clock.time_ms() + 1000
        body = {"user_id": bob.user_id, "expiration_ts": soon}
        await ok(admin, "POST", VALIDITY, json=body)
        assert (await bob.request("GET", "/account/whoami")).status_code == 200
        clock.advance(1)
        assert refused_as_expired(await bob.request("GET", "/account/whoami"))
