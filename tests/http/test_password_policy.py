"""The password policy: served to clients, and enforced on every way a password is set."""

from typing import Any

import pytest

POLICY = {
    "minimum_length": 10,
    "require_digit": True,
    "require_symbol": True,
    "require_uppercase": True,
    "require_lowercase": True,
}
GOOD = "Ministere-2026"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"registration": {"mode": "open"}, "policy": {"password": POLICY}}


@pytest.mark.parametrize(
    "path", ["/_matrix/client/v3/password_policy", "/_matrix/client/unstable/password_policy"]
)
async def test_password_policy_is_served_without_a_token(client, path):
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "m.minimum_length": 10,
        "m.require_digit": True,
        "m.require_symbol": True,
        "m.require_uppercase": True,
        "m.require_lowercase": True,
    }


WEAK = [
    ("Sh0rt-pw", "M_PASSWORD_TOO_SHORT"),
    ("NoDigitsHere-", "M_PASSWORD_NO_DIGIT"),
    ("NoSymbols2026", "M_PASSWORD_NO_SYMBOL"),
    ("no-upper-2026", "M_PASSWORD_NO_UPPERCASE"),
    ("NO-LOWER-2026", "M_PASSWORD_NO_LOWERCASE"),
]


@pytest.mark.parametrize(("password", "errcode"), WEAK)
async def test_registration_refuses_each_weak_password_with_its_errcode(client, password, errcode):
    body = {"username": "alice", "password": password, "auth": {"type": "m.login.dummy"}}
    response = await client.post("/_matrix/client/v3/register", json=body)
    assert response.status_code == 400
    assert response.json()["errcode"] == errcode
    available = await client.get("/_matrix/client/v3/register/available?username=alice")
    assert available.json() == {"available": True}, "a refused registration leaves no account"


async def test_registration_accepts_a_password_that_meets_every_rule(register):
    user = await register("alice", GOOD)
    assert user.user_id.startswith("@alice:")


async def test_password_change_refuses_a_weak_password_and_keeps_the_old_one(client, register):
    user = await register("alice", GOOD)
    auth = {"type": "m.login.password", "user": user.user_id, "password": GOOD}
    response = await user.request(
        "POST", "/account/password", json={"new_password": "weakpassword", "auth": auth}
    )
    assert response.status_code == 400
    assert response.json()["errcode"] == "M_PASSWORD_NO_DIGIT"
    login = await client.post(
        "/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": "alice", "password": GOOD},
    )
    assert login.status_code == 200


async def test_admin_created_accounts_follow_the_policy_too(services):
    from sceau.errors import MatrixError

    with pytest.raises(MatrixError) as refused:
        await services.accounts.create_user("bob", "short", is_admin=False)
    assert refused.value.errcode == "M_PASSWORD_TOO_SHORT"
    assert await services.accounts.create_user("bob", GOOD, is_admin=False) == (
        f"@bob:{services.config.server_name}"
    )
