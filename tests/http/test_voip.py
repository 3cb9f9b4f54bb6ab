"""GET /voip/turnServer: TURN REST credentials, the {} answer without TURN, guests, rate limit."""

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from sceau.clock import FakeClock
from sceau.homeserver import build_services
from sceau.protocol.signing import generate_signing_key
from tests.conftest import FAST_HASHER, create_local_user, make_config
from tests.http.spec_shapes_support import check_shape

SECRET = "n0t-so-s3cret"
URIS = ["turn:turn.test.local:3478?transport=udp", "turn:turn.test.local:3478?transport=tcp"]
TURN_SERVER = "/voip/turnServer"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start_ms=1_700_000_000_500)


@pytest.fixture
def config_overrides():
    return {"voip": {"turn_uris": URIS, "turn_shared_secret": SECRET}}


@pytest.fixture
async def services(db, tmp_path: Path, config_overrides, clock):
    return await build_services(
        make_config(tmp_path, **config_overrides),
        clock=clock,
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )


def expected_password(username: str) -> str:
    mac = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


async def test_shared_secret_credentials_follow_the_turn_rest_convention(user_factory, clock):
    alice = await user_factory("alice")
    body = await alice.ok("GET", TURN_SERVER)
    assert set(body) == {"uris", "username", "password", "ttl"}
    assert body["uris"] == URIS
    assert body["ttl"] == 3600  # the default lifetime, one hour, in seconds
    # Expiry in whole seconds: now (1_700_000_000.5 s) + 3600 s, rounded down.
    assert body["username"] == f"1700003600:{alice.user_id}"
    assert body["password"] == expected_password(body["username"])


async def test_each_user_gets_their_own_credentials_and_they_move_with_time(user_factory, clock):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    first = await alice.ok("GET", TURN_SERVER)
    other = await bob.ok("GET", TURN_SERVER)
    assert other["username"].endswith(":" + bob.user_id)
    assert other["password"] != first["password"]
    clock.advance(60)
    later = await alice.ok("GET", TURN_SERVER)
    expiry = int(later["username"].split(":", 1)[0])
    assert expiry == int(first["username"].split(":", 1)[0]) + 60
    assert later["password"] == expected_password(later["username"])


@pytest.mark.parametrize("lifetime, ttl", [("2h", 7200), ("90s", 90), (86_400_000, 86_400)])
async def test_the_lifetime_sets_ttl_and_expiry(tmp_path, db, clock, client, lifetime, ttl):
    services = await build_services(
        make_config(
            tmp_path,
            voip={
                "turn_uris": URIS,
                "turn_shared_secret": SECRET,
                "turn_user_lifetime": lifetime,
            },
        ),
        clock=clock,
        db=db,
        signing_key=generate_signing_key(b"\x01" * 32, "test"),
        password_hasher=FAST_HASHER,
    )
    body = services.voip.turn_server(await _requester(services, client, "carol"))
    assert body["ttl"] == ttl
    assert int(body["username"].split(":", 1)[0]) == (clock.time_ms() + ttl * 1000) // 1000


async def _requester(services, client, localpart):
    user = await create_local_user(services, client, localpart)
    return await services.auth.authenticate(user.token, "127.0.0.1")


async def test_the_answer_has_the_spec_shape(user_factory):
    alice = await user_factory("alice")
    check_shape(
        "/_matrix/client/v3/voip/turnServer", "GET", await alice.request("GET", TURN_SERVER)
    )


@pytest.mark.parametrize(
    "prefix", ["/_matrix/client/r0", "/_matrix/client/unstable", "/_matrix/client/api/v1"]
)
async def test_older_client_prefixes_are_served_too(user_factory, prefix):
    alice = await user_factory("alice")
    body = await alice.ok("GET", prefix + TURN_SERVER)
    assert body["password"] == expected_password(body["username"])


@pytest.mark.parametrize("config_overrides", [{}])
async def test_without_turn_configured_the_answer_is_empty(user_factory, config_overrides):
    alice = await user_factory("alice")
    assert await alice.ok("GET", TURN_SERVER) == {}


@pytest.mark.parametrize(
    "config_overrides",
    [{"voip": {"turn_uris": URIS, "turn_username": "sceau", "turn_password": "pw"}}],
)
async def test_static_credentials_are_handed_out_as_configured(user_factory):
    alice = await user_factory("alice")
    body = await alice.ok("GET", TURN_SERVER)
    assert body == {"uris": URIS, "username": "sceau", "password": "pw", "ttl": 3600}


async def test_a_request_without_a_valid_token_gets_401(client):
    response = await client.get("/_matrix/client/v3" + TURN_SERVER)
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_MISSING_TOKEN"
    response = await client.get(
        "/_matrix/client/v3" + TURN_SERVER, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert response.json()["errcode"] == "M_UNKNOWN_TOKEN"


async def test_guests_get_no_credentials(user_factory, services):
    guest = await user_factory("guest")
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE users SET is_guest = 1 WHERE user_id = ?", guest.user_id)
    response = await guest.request("GET", TURN_SERVER)
    assert response.status_code == 403
    assert response.json()["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"
    assert "password" not in response.text


@pytest.mark.parametrize(
    "config_overrides",
    [
        {
            "voip": {"turn_uris": URIS, "turn_shared_secret": SECRET},
            "rate_limits": {"enabled": True, "turn": {"per_second": 0.5, "burst": 3}},
        }
    ],
)
async def test_too_many_requests_get_429_per_user_until_the_bucket_refills(user_factory, clock):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    for _ in range(3):
        await alice.ok("GET", TURN_SERVER)
    for _ in range(20):  # abuse keeps getting 429, never a 500
        response = await alice.request("GET", TURN_SERVER)
        assert response.status_code == 429
        assert response.json()["errcode"] == "M_LIMIT_EXCEEDED"
        assert response.json()["retry_after_ms"] > 0
        assert "password" not in response.json()
    assert "password" in await bob.ok("GET", TURN_SERVER)  # per user
    clock.advance(2)
    assert "password" in await alice.ok("GET", TURN_SERVER)
