"""Adding and removing email addresses (/account/3pid/*), and policy.lock_email forbidding it."""

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import register_user

V3 = "/_matrix/client/v3"
PASSWORD = "correct horse battery"


@pytest.fixture
def config_overrides(smtp) -> dict[str, Any]:
    return {
        "public_baseurl": "https://sceau.test/",
        "registration": {"mode": "open", "email_domains": {"interieur.gouv.fr": "test.local"}},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "from_address": "no@sceau.test"},
    }


async def request_add(user: Any, email: str) -> Any:
    body = {"client_secret": "s3cret", "email": email, "send_attempt": 1}
    return await user.request("POST", "/account/3pid/email/requestToken", json=body)


async def add(user: Any, sid: str) -> Any:
    auth = {"type": "m.login.password", "user": user.user_id, "password": PASSWORD}
    body = {"client_secret": "s3cret", "sid": sid, "auth": auth}
    return await user.request("POST", "/account/3pid/add", json=body)


async def test_an_agent_adds_an_address_logs_in_with_it_and_removes_it(client, inbox):
    alice = await register_user(client, "alice")
    requested = await request_add(alice, "Alice.Martin@interieur.gouv.fr")
    assert requested.status_code == 200, requested.text
    sid = requested.json()["sid"]
    early = await add(alice, sid)
    assert early.status_code == 401, "not before the link is followed"
    link = urlsplit(inbox.link())
    assert link.path == "/_matrix/client/unstable/add_threepid/email/submit_token"
    assert (await client.get(link.path + "?" + link.query)).status_code == 200
    assert (await add(alice, sid)).status_code == 200
    listed = await alice.ok("GET", "/account/3pid")
    assert [t["address"] for t in listed["threepids"]] == ["alice.martin@interieur.gouv.fr"]
    login = await client.post(
        V3 + "/login",
        json={
            "type": "m.login.password",
            "identifier": {
                "type": "m.id.thirdparty",
                "medium": "email",
                "address": "alice.martin@interieur.gouv.fr",
            },
            "password": PASSWORD,
        },
    )
    assert login.status_code == 200
    removed = await alice.ok(
        "POST",
        "/account/3pid/delete",
        json={"medium": "email", "address": "alice.martin@interieur.gouv.fr"},
    )
    assert removed == {"id_server_unbind_result": "no-support"}
    assert (await alice.ok("GET", "/account/3pid"))["threepids"] == []


async def test_an_address_of_another_server_or_in_use_is_refused(client, inbox):
    alice = await register_user(client, "alice")
    other = await request_add(alice, "x@justice.gouv.fr")
    assert other.status_code == 403 and other.json()["errcode"] == "M_THREEPID_DENIED"
    unknown = await alice.request(
        "POST", "/account/3pid/delete", json={"medium": "email", "address": "x@y.fr"}
    )
    assert unknown.status_code == 400 and unknown.json()["errcode"] == "M_THREEPID_NOT_FOUND"


@pytest.mark.parametrize(
    "config_overrides",
    [
        {
            "policy": {"lock_email": True},
            "registration": {"mode": "open", "email_domains": {"interieur.gouv.fr": "test.local"}},
            "email": {"smtp_host": "127.0.0.1", "smtp_port": 1},
        }
    ],
)
async def test_lock_email_refuses_every_change(client):
    alice = await register_user(client, "alice")
    assert (await request_add(alice, "a@interieur.gouv.fr")).status_code == 403
    assert (await add(alice, "sid")).status_code == 403
    delete = await alice.request(
        "POST", "/account/3pid/delete", json={"medium": "email", "address": "a@interieur.gouv.fr"}
    )
    assert delete.status_code == 403
    capabilities = await alice.ok("GET", "/capabilities")
    assert capabilities["capabilities"]["m.3pid_changes"] == {"enabled": False}
