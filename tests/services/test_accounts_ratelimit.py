"""Per-IP registration and login limits, driven by a fake clock (no sleeping)."""

import pytest

from sceau.clock import FakeClock
from sceau.config import parse_config
from sceau.errors import MatrixError
from sceau.services.accounts import AccountHooks, AccountService, RegistrationRequest
from sceau.services.auth import AuthService, PasswordService, UiaService
from sceau.services.ratelimit import RateLimiter
from tests.conftest import FAST_HASHER

LIMITS = {
    "enabled": True,
    "registration": {"per_second": 0.5, "burst": 2},
    "login": {"per_second": 1, "burst": 1},
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(services, clock, tmp_path) -> AccountService:
    """The real account service on the test database, with limits on and a fake clock."""
    config = parse_config(
        {"server_name": "test.local", "registration": {"mode": "open"}, "rate_limits": LIMITS},
        str(tmp_path),
    )
    passwords = PasswordService(FAST_HASHER)
    store = services.stores.accounts
    return AccountService(
        config=config,
        clock=clock,
        db=services.stores.db,
        accounts=store,
        auth=AuthService(store),
        passwords=passwords,
        uia=UiaService(clock, passwords, store),
        ratelimiter=RateLimiter(config.rate_limits, clock),
        hooks=AccountHooks(),
    )


def request(username: str) -> RegistrationRequest:
    return RegistrationRequest(username=username, password="pw", auth={"type": "m.login.dummy"})


async def test_registration_limit_refills_as_time_passes(accounts, clock):
    await accounts.register(request("a1"), "user", "10.0.0.1")
    await accounts.register(request("a2"), "user", "10.0.0.1")
    with pytest.raises(MatrixError) as err:
        await accounts.register(request("a3"), "user", "10.0.0.1")
    assert err.value.errcode == "M_LIMIT_EXCEEDED"
    assert err.value.extra["retry_after_ms"] == 2000
    # Another address has its own bucket.
    await accounts.register(request("b1"), "user", "10.0.0.2")
    clock.advance(2)
    await accounts.register(request("a3"), "user", "10.0.0.1")


async def test_login_limit_counts_failed_attempts_too(accounts, clock):
    await accounts.register(request("alice"), "user", "10.0.0.9")
    with pytest.raises(MatrixError) as wrong:
        await accounts.login("alice", "nope", None, None, "10.0.0.1")
    assert wrong.value.errcode == "M_FORBIDDEN"
    with pytest.raises(MatrixError) as limited:
        await accounts.login("alice", "pw", None, None, "10.0.0.1")
    assert limited.value.errcode == "M_LIMIT_EXCEEDED"
    clock.advance(1)
    session = await accounts.login("alice", "pw", None, None, "10.0.0.1")
    assert session.user_id == "@alice:test.local"
