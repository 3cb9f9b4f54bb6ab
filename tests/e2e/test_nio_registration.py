"""Registration policies, as matrix-nio meets them on the real server.

``closed`` (the default) refuses /register, and accounts come from
``sceau admin create-user`` while the server runs; ``token`` accepts nio's
m.login.registration_token flow with a configured token and nothing else.
"""

import subprocess
import sys

import httpx
import nio
import pytest
from nio.responses import RegisterErrorResponse

from tests.e2e.nio_helpers import PASSWORD, new_client, ok, unique
from tests.e2e.server import REPO, ServerFactory, ServerProcess

pytestmark = pytest.mark.e2e


async def test_a_closed_server_refuses_registration_and_admits_admin_created_users(
    make_server: ServerFactory,
):
    server = make_server(registration={"mode": "closed"})
    client = new_client(server)
    try:
        refused = await client.register(unique("mallory"), PASSWORD)
        assert isinstance(refused, RegisterErrorResponse), refused
        assert refused.status_code == "M_FORBIDDEN"

        localpart = unique("agent")
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "sceau",
                "admin",
                "create-user",
                "--config",
                str(server.config_path),
                "--password",
                PASSWORD,
                localpart,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        user = new_client(server, f"@{localpart}:{server.server_name}")
        try:
            login = ok(await user.login(PASSWORD), nio.LoginResponse, "POST /login")
            assert login.user_id == f"@{localpart}:{server.server_name}"
        finally:
            await user.close()
    finally:
        await client.close()


@pytest.fixture(scope="module")
def token_server(make_module_server: ServerFactory) -> ServerProcess:
    return make_module_server(registration={"mode": "token", "tokens": [TOKEN]})


TOKEN = "jeton-secret"


async def test_a_token_server_refuses_dummy_auth_and_wrong_tokens(token_server: ServerProcess):
    clients = [new_client(token_server) for _ in range(2)]
    dummy, wrong = clients
    try:
        refused = await dummy.register(unique("dummy"), PASSWORD)
        assert isinstance(refused, RegisterErrorResponse), "m.login.dummy alone got in"
        bad = await wrong.register_with_token(unique("wrong"), PASSWORD, "not-the-token")
        assert isinstance(bad, RegisterErrorResponse), "a wrong token got in"
    finally:
        for client in clients:
            await client.close()


def test_a_token_server_registers_through_the_registration_token_stage(
    token_server: ServerProcess,
):
    """The spec's flow, step by step: challenge, then the token stage with the session."""
    url = token_server.url + "/_matrix/client/v3/register"
    name = unique("agent")
    challenge = httpx.post(url, json={"username": name, "password": PASSWORD}, timeout=20)
    assert challenge.status_code == 401, challenge.text
    flows = [flow["stages"] for flow in challenge.json()["flows"]]
    assert all("m.login.registration_token" in stages for stages in flows), flows
    auth: dict[str, str] = {"session": challenge.json()["session"]}
    response = challenge
    for stage in next(f for f in flows if f[0] == "m.login.registration_token"):
        auth = {"session": auth["session"], "type": stage}
        if stage == "m.login.registration_token":
            auth["token"] = TOKEN
        response = httpx.post(
            url, json={"username": name, "password": PASSWORD, "auth": auth}, timeout=20
        )
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == f"@{name}:{token_server.server_name}"


async def test_nio_registers_with_a_registration_token(token_server: ServerProcess):
    client = new_client(token_server)
    try:
        name = unique("agent")
        good = ok(
            await client.register_with_token(name, PASSWORD, TOKEN),
            nio.RegisterResponse,
            "nio register_with_token",
        )
        assert good.user_id == f"@{name}:{token_server.server_name}"
        whoami = ok(await client.whoami(), nio.WhoamiResponse, "GET /account/whoami")
        assert whoami.user_id == good.user_id
    finally:
        await client.close()


def test_the_first_registration_challenge_carries_no_error(token_server: ServerProcess):
    url = token_server.url + "/_matrix/client/v3/register"
    challenge = httpx.post(url, json={"username": unique("x"), "password": PASSWORD}, timeout=20)
    assert challenge.status_code == 401
    assert "errcode" not in challenge.json(), challenge.json()
