"""Registration limited to state email addresses, validated through a real SMTP server.

An aiosmtpd server on a free port receives what Sceau sends; the tests read
the link out of the message and follow it as the agent would.
"""

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.smtp_support import Inbox

V3 = "/_matrix/client/v3"
PASSWORD = "correct horse battery"
DOMAINS = {"Interieur.gouv.fr": "test.local", "justice.gouv.fr": "justice.tchap.gouv.fr"}


def email_mode(port: int, **rate_limits: Any) -> dict[str, Any]:
    return {
        "public_baseurl": "https://sceau.test/",
        "registration": {"mode": "email", "email_domains": DOMAINS},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": port, "from_address": "no@sceau.test"},
        "rate_limits": rate_limits or {"enabled": False},
    }


@pytest.fixture
def rate_limited() -> bool:
    """Parametrize to True for the one test that needs the rate limiter on."""
    return False


@pytest.fixture
def password_rules() -> dict[str, Any] | None:
    """Parametrize to a ``policy.password`` section for the tests that need one."""
    return None


@pytest.fixture
def config_overrides(
    smtp: tuple[Inbox, int], rate_limited: bool, password_rules: dict[str, Any] | None
) -> dict[str, Any]:
    if rate_limited:
        return email_mode(smtp[1], email={"per_second": 0.001, "burst": 2})
    if password_rules is not None:
        return {**email_mode(smtp[1]), "policy": {"password": password_rules}}
    return email_mode(smtp[1])


async def request_token(
    client: httpx.AsyncClient,
    email: str = "Marie.Curie@interieur.gouv.fr",
    secret: str = "s3cret",
    attempt: int = 1,
    **extra: Any,
) -> httpx.Response:
    body = {"client_secret": secret, "email": email, "send_attempt": attempt, **extra}
    return await client.post(V3 + "/register/email/requestToken", json=body)


async def follow(client: httpx.AsyncClient, link: str) -> httpx.Response:
    parts = urlsplit(link)
    return await client.get(parts.path + "?" + parts.query)


async def register_with(
    client: httpx.AsyncClient, sid: str, secret: str = "s3cret", username: str = "marie"
) -> httpx.Response:
    auth = {
        "type": "m.login.email.identity",
        "threepid_creds": {"sid": sid, "client_secret": secret},
    }
    body = {"username": username, "password": PASSWORD, "auth": auth}
    return await client.post(V3 + "/register", json=body)


def error(response: httpx.Response, status: int, errcode: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode, response.text
    return response.json()


async def validated_sid(client: httpx.AsyncClient, inbox: Inbox, **kw: Any) -> str:
    response = await request_token(client, **kw)
    assert response.status_code == 200, response.text
    assert (await follow(client, inbox.link())).status_code == 200
    return str(response.json()["sid"])


# ------------------------------------------------------------------ the full flow


async def test_an_agent_registers_through_the_emailed_link_and_the_address_is_bound(client, inbox):
    challenge = await client.post(V3 + "/register", json={"username": "marie"})
    assert challenge.status_code == 401
    assert challenge.json()["flows"] == [{"stages": ["m.login.email.identity"]}]
    response = await request_token(client)
    assert response.status_code == 200, response.text
    sid = response.json()["sid"]
    assert re.fullmatch(r"[0-9a-zA-Z.=_-]{1,255}", sid)
    [message] = inbox.messages
    assert message["To"] == "marie.curie@interieur.gouv.fr"
    assert message["From"] == "no@sceau.test"
    link = inbox.link()
    assert urlsplit(link).path == "/_matrix/client/unstable/registration/email/submit_token"
    assert parse_qs(urlsplit(link).query)["sid"] == [sid]
    early = await register_with(client, sid)
    assert early.status_code == 401 and early.json()["errcode"] == "M_UNAUTHORIZED"
    page = await follow(client, link)
    assert page.status_code == 200 and "validée" in page.text
    done = await register_with(client, sid)
    assert done.status_code == 200, done.text
    assert done.json()["user_id"] == "@marie:test.local"
    headers = {"Authorization": f"Bearer {done.json()['access_token']}"}
    listed = (await client.get(V3 + "/account/3pid", headers=headers)).json()["threepids"]
    assert [(t["medium"], t["address"]) for t in listed] == [
        ("email", "marie.curie@interieur.gouv.fr")
    ]
    assert listed[0]["validated_at"] <= listed[0]["added_at"]


async def test_the_link_redirects_to_the_clients_next_link(client, inbox):
    await request_token(client, next_link="https://app.sceau.test/done")
    response = await follow(client, inbox.link())
    assert response.status_code == 302
    assert response.headers["location"] == "https://app.sceau.test/done"


async def test_a_validated_session_registers_only_one_account(client, inbox):
    sid = await validated_sid(client, inbox)
    assert (await register_with(client, sid)).status_code == 200
    again = await register_with(client, sid, username="marie2")
    assert again.status_code == 401 and again.json()["errcode"] == "M_UNAUTHORIZED"


async def test_a_new_user_has_no_threepids(client, inbox):
    sid = await validated_sid(client, inbox)
    assert (await register_with(client, sid)).status_code == 200
    other = await validated_sid(client, inbox, email="paul@interieur.gouv.fr")
    data = (await register_with(client, other, username="paul")).json()
    headers = {"Authorization": f"Bearer {data['access_token']}"}
    listed = (await client.get(V3 + "/account/3pid", headers=headers)).json()["threepids"]
    assert [t["address"] for t in listed] == ["paul@interieur.gouv.fr"]


# ------------------------------------------------------------------ refusals


async def test_an_unlisted_domain_is_denied_and_no_mail_is_sent(client, inbox):
    error(await request_token(client, email="a@gmail.com"), 403, "M_THREEPID_DENIED")
    error(await request_token(client, email="a@sub.interieur.gouv.fr"), 403, "M_THREEPID_DENIED")
    assert inbox.messages == []


async def test_a_domain_of_another_ministry_is_denied_naming_its_server(client, inbox):
    body = error(
        await request_token(client, email="juge@justice.gouv.fr"), 403, "M_THREEPID_DENIED"
    )
    assert "justice.tchap.gouv.fr" in body["error"]
    assert body["server_name"] == "justice.tchap.gouv.fr"
    assert inbox.messages == []


async def test_an_address_already_bound_is_in_use(client, inbox):
    sid = await validated_sid(client, inbox)
    assert (await register_with(client, sid)).status_code == 200
    sent = len(inbox.messages)
    error(await request_token(client, secret="other"), 400, "M_THREEPID_IN_USE")
    assert len(inbox.messages) == sent


async def test_two_sessions_for_one_address_bind_it_once(client, inbox):
    first = await validated_sid(client, inbox, secret="one")
    second = await validated_sid(client, inbox, secret="two")
    assert (await register_with(client, first, secret="one")).status_code == 200
    refused = await register_with(client, second, secret="two", username="marie2")
    error(refused, 400, "M_THREEPID_IN_USE")
    taken = await client.get(V3 + "/register/available?username=marie2")
    assert taken.json() == {"available": True}


@pytest.mark.parametrize(
    "body",
    [
        {"client_secret": "s", "email": "not-an-email", "send_attempt": 1},
        {"client_secret": "s", "email": "a@@interieur.gouv.fr", "send_attempt": 1},
        {"client_secret": "s", "email": "a b@interieur.gouv.fr", "send_attempt": 1},
        {"client_secret": "bad secret!", "email": "a@interieur.gouv.fr", "send_attempt": 1},
        {"client_secret": "", "email": "a@interieur.gouv.fr", "send_attempt": 1},
        {"client_secret": "s", "email": "a@interieur.gouv.fr", "send_attempt": -1},
    ],
)
async def test_bad_addresses_and_secrets_are_invalid_params(client, inbox, body):
    error(await client.post(V3 + "/register/email/requestToken", json=body), 400, "M_INVALID_PARAM")
    assert inbox.messages == []


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"email": "a@interieur.gouv.fr", "send_attempt": 1}, "M_MISSING_PARAM"),
        ({"client_secret": "s", "send_attempt": 1}, "M_MISSING_PARAM"),
        ({"client_secret": "s", "email": "a@interieur.gouv.fr"}, "M_MISSING_PARAM"),
        ({"client_secret": "s", "email": "a@interieur.gouv.fr", "send_attempt": "1"}, "M_BAD_JSON"),
        ({"client_secret": 1, "email": "a@interieur.gouv.fr", "send_attempt": 1}, "M_BAD_JSON"),
    ],
)
async def test_malformed_request_token_bodies_get_the_spec_error(client, body, errcode):
    error(await client.post(V3 + "/register/email/requestToken", json=body), 400, errcode)


# ------------------------------------------------------------------ send_attempt, expiry, secrets


async def test_the_same_send_attempt_returns_the_same_sid_without_a_new_mail(client, inbox):
    first = (await request_token(client, attempt=1)).json()["sid"]
    again = (await request_token(client, attempt=1)).json()["sid"]
    assert first == again and len(inbox.messages) == 1
    later = (await request_token(client, attempt=2)).json()["sid"]
    assert later == first and len(inbox.messages) == 2
    assert (await follow(client, inbox.link(0))).status_code == 400  # the old token is void
    assert (await follow(client, inbox.link(1))).status_code == 200


async def test_another_client_secret_starts_another_session(client, inbox):
    one = (await request_token(client, secret="one")).json()["sid"]
    two = (await request_token(client, secret="two")).json()["sid"]
    assert one != two and len(inbox.messages) == 2


async def test_an_expired_link_is_refused(client, inbox, services):
    await request_token(client)
    lifetime_ms = services.config.email.token_lifetime_s * 1000
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE threepid_sessions SET sent_ts = sent_ts - ?", lifetime_ms + 1)
    error(await follow(client, inbox.link()), 400, "M_SESSION_EXPIRED")


async def test_a_session_that_expires_after_validation_cannot_register(client, inbox, services):
    sid = await validated_sid(client, inbox)
    lifetime_ms = services.config.email.token_lifetime_s * 1000
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE threepid_sessions SET sent_ts = sent_ts - ?", lifetime_ms + 1)
    refused = await register_with(client, sid)
    assert refused.status_code == 401 and refused.json()["errcode"] == "M_UNAUTHORIZED"


async def test_a_wrong_client_secret_or_token_is_refused(client, inbox):
    sid = (await request_token(client)).json()["sid"]
    link = inbox.link()
    error(await follow(client, link.replace("client_secret=s3cret", "client_secret=nope")), 400,
          "M_NO_VALID_SESSION")  # fmt: skip
    error(await follow(client, re.sub(r"token=[^&]+", "token=forged", link)), 400,
          "M_NO_VALID_SESSION")  # fmt: skip
    assert (await follow(client, link)).status_code == 200
    refused = await register_with(client, sid, secret="nope")
    assert refused.status_code == 401 and refused.json()["errcode"] == "M_UNAUTHORIZED"


async def test_the_link_without_its_parameters_is_missing_param(client):
    path = "/_matrix/client/unstable/registration/email/submit_token?sid=x&client_secret=y"
    error(await client.get(path), 400, "M_MISSING_PARAM")


async def test_the_email_stage_without_creds_is_refused(client):
    body = {"username": "marie", "password": PASSWORD, "auth": {"type": "m.login.email.identity"}}
    response = await client.post(V3 + "/register", json=body)
    assert response.status_code == 401 and response.json()["errcode"] == "M_MISSING_PARAM"


async def test_the_dummy_stage_does_not_register_in_email_mode(client):
    body = {"username": "marie", "password": PASSWORD, "auth": {"type": "m.login.dummy"}}
    response = await client.post(V3 + "/register", json=body)
    assert response.status_code == 401 and response.json()["errcode"] == "M_UNRECOGNIZED"


# ------------------------------------------------------------------ rate limit


@pytest.mark.parametrize("rate_limited", [True])
async def test_request_token_is_rate_limited_per_ip(client, inbox):
    assert (await request_token(client, secret="a")).status_code == 200
    assert (await request_token(client, secret="b")).status_code == 200
    limited = error(await request_token(client, secret="c"), 429, "M_LIMIT_EXCEEDED")
    assert limited["retry_after_ms"] > 0
    assert len(inbox.messages) == 2


# ------------------------------------------------------------------ the server lookup


@pytest.mark.parametrize(
    ("address", "server"),
    [
        ("marie@interieur.gouv.fr", "test.local"),
        ("Juge@JUSTICE.gouv.fr", "justice.tchap.gouv.fr"),
    ],
)
async def test_the_lookup_names_the_server_that_owns_an_address(client, address, server):
    response = await client.get("/_sceau/v1/email_server", params={"address": address})
    assert response.status_code == 200, response.text
    assert response.json() == {"server_name": server}


async def test_the_lookup_refuses_unknown_domains_and_bad_addresses(client):
    lookup = "/_sceau/v1/email_server"
    error(await client.get(lookup, params={"address": "a@gmail.com"}), 404, "M_NOT_FOUND")
    error(await client.get(lookup, params={"address": "nope"}), 400, "M_INVALID_PARAM")
    error(await client.get(lookup), 400, "M_MISSING_PARAM")


async def test_3pid_listing_needs_a_token(client):
    error(await client.get(V3 + "/account/3pid"), 401, "M_MISSING_TOKEN")


async def test_deactivation_frees_the_address(client, inbox):
    sid = await validated_sid(client, inbox)
    data = (await register_with(client, sid)).json()
    headers = {"Authorization": f"Bearer {data['access_token']}"}
    auth = {"type": "m.login.password", "user": data["user_id"], "password": PASSWORD}
    gone = await client.post(V3 + "/account/deactivate", json={"auth": auth}, headers=headers)
    assert gone.status_code == 200, gone.text
    assert (await request_token(client, secret="again")).status_code == 200


# ------------------------------------------------------------------ other modes unchanged


@pytest.mark.parametrize(
    ("mode", "stages"),
    [
        ({"mode": "open"}, ["m.login.dummy"]),
        ({"mode": "token", "tokens": ["t"]}, ["m.login.registration_token", "m.login.dummy"]),
    ],
)
async def test_open_and_token_modes_keep_their_flows_and_send_no_mail(
    smtp, services, tmp_path, mode, stages
):
    from sceau.homeserver import build_app, build_services
    from tests.conftest import FAST_HASHER, make_config

    inbox, port = smtp
    config = make_config(tmp_path, **{**email_mode(port), "registration": mode})
    hs = await build_services(
        config, db=services.stores.db, signing_key=services.signing_key, password_hasher=FAST_HASHER
    )
    transport = httpx.ASGITransport(app=build_app(hs))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        challenge = await http.post(V3 + "/register", json={"username": "marie"})
        assert challenge.json()["flows"] == [{"stages": stages}]
        error(await request_token(http), 403, "M_FORBIDDEN")
    assert inbox.messages == []


async def test_request_token_and_3pid_bodies_match_the_spec(client, inbox):
    from tests.http.spec_shapes_support import check_shape

    response = await request_token(client)
    check_shape("/_matrix/client/v3/register/email/requestToken", "post", response)
    check_shape(
        "/_matrix/client/v3/register/email/requestToken",
        "post",
        await request_token(client, secret="x", email="juge@justice.gouv.fr"),
    )
    await follow(client, inbox.link())
    data = (await register_with(client, response.json()["sid"])).json()
    headers = {"Authorization": f"Bearer {data['access_token']}"}
    listed = await client.get(V3 + "/account/3pid", headers=headers)
    check_shape("/_matrix/client/v3/account/3pid", "get", listed)


# ------------------------------------------------------------------ password reset by email


async def reset(client: httpx.AsyncClient, sid: str, secret: str = "r", **extra: Any):
    creds = {"sid": sid, "client_secret": secret}
    auth = {"type": "m.login.email.identity", "threepid_creds": creds}
    body = {"new_password": "n3w password", "auth": auth, **extra}
    return await client.post(V3 + "/account/password", json=body)


async def request_reset(client: httpx.AsyncClient, email: str = "marie.curie@interieur.gouv.fr"):
    body = {"client_secret": "r", "email": email, "send_attempt": 1}
    return await client.post(V3 + "/account/password/email/requestToken", json=body)


async def test_a_forgotten_password_is_reset_through_the_emailed_link(client, inbox):
    data = (await register_with(client, await validated_sid(client, inbox))).json()
    response = await request_reset(client, "Marie.Curie@interieur.gouv.fr")
    assert response.status_code == 200, response.text
    link = inbox.link()
    assert urlsplit(link).path == "/_matrix/client/unstable/password_reset/email/submit_token"
    challenge = await client.post(V3 + "/account/password", json={"new_password": "x"})
    assert challenge.status_code == 401
    assert challenge.json()["flows"] == [{"stages": ["m.login.email.identity"]}]
    early = await reset(client, response.json()["sid"])
    assert early.status_code == 401 and early.json()["errcode"] == "M_UNAUTHORIZED"
    assert (await follow(client, link)).status_code == 200
    assert (await reset(client, response.json()["sid"])).status_code == 200
    old = {"Authorization": f"Bearer {data['access_token']}"}
    error(await client.get(V3 + "/account/whoami", headers=old), 401, "M_UNKNOWN_TOKEN")
    login = {"type": "m.login.password", "user": "marie", "password": "n3w password"}
    assert (await client.post(V3 + "/login", json=login)).status_code == 200
    again = await reset(client, response.json()["sid"])
    assert again.status_code == 401 and again.json()["errcode"] == "M_UNAUTHORIZED"


@pytest.mark.parametrize("password_rules", [{"minimum_length": 12}])
async def test_a_reset_refuses_a_weak_password_and_keeps_the_old_one(client, inbox):
    await register_with(client, await validated_sid(client, inbox), username="marie")
    response = await request_reset(client)
    await follow(client, inbox.link())
    short = await reset(client, response.json()["sid"], new_password="C0urt")
    error(short, 400, "M_PASSWORD_TOO_SHORT")
    login = {"type": "m.login.password", "user": "marie", "password": PASSWORD}
    assert (await client.post(V3 + "/login", json=login)).status_code == 200


async def test_a_reset_for_an_unbound_address_sends_nothing(client, inbox):
    error(await request_reset(client), 400, "M_THREEPID_NOT_FOUND")
    assert inbox.messages == []


async def test_a_registration_session_cannot_reset_a_password(client, inbox):
    await register_with(client, await validated_sid(client, inbox))
    sid = await validated_sid(client, inbox, secret="r", email="paul@interieur.gouv.fr")
    refused = await reset(client, sid)
    assert refused.status_code == 401 and refused.json()["errcode"] == "M_UNAUTHORIZED"
