"""Agents registered by email alone: derived user ID and display name, login by email.

Runs the real email flow against an aiosmtpd server (the fixtures of
test_email_registration), as an agent of interieur.gouv.fr on its server.
"""

from typing import Any

import httpx
import pytest

from tests.http.test_email_registration import PASSWORD, V3, email_mode, error, validated_sid

EMAIL = "Jean.Dupont@interieur.gouv.fr"


@pytest.fixture
def config_overrides(smtp: Any) -> dict[str, Any]:
    overrides = email_mode(smtp[1])
    overrides["policy"] = {
        "organisations": {"interieur.gouv.fr": "Intérieur"},
        "lock_display_name": True,
    }
    return overrides


async def register_without_username(
    client: httpx.AsyncClient, sid: str, secret: str = "s3cret"
) -> httpx.Response:
    auth = {
        "type": "m.login.email.identity",
        "threepid_creds": {"sid": sid, "client_secret": secret},
    }
    return await client.post(V3 + "/register", json={"password": PASSWORD, "auth": auth})


async def test_an_agent_registers_by_email_alone_and_gets_a_derived_id_and_name(
    client,
    inbox,
):
    sid = await validated_sid(client, inbox, email=EMAIL)
    response = await register_without_username(client, sid)
    assert response.status_code == 200, response.text
    user_id = response.json()["user_id"]
    assert user_id == "@jean.dupont-interieur.gouv.fr:test.local"
    profile = await client.get(V3 + f"/profile/{user_id}")
    assert profile.json() == {"displayname": "Jean Dupont [Intérieur]"}


async def test_a_second_account_for_a_clashing_id_gets_a_number(client, inbox, services):
    first = await validated_sid(client, inbox, email=EMAIL)
    assert (await register_without_username(client, first)).status_code == 200
    # The first account is deactivated and its address released: its ID is never reused.
    user_id = "@jean.dupont-interieur.gouv.fr:test.local"
    await services.threepids.user_deactivated(user_id)
    async with services.stores.db.transaction() as txn:
        await services.stores.accounts.set_deactivated(txn, user_id)
    second = await validated_sid(client, inbox, email=EMAIL, secret="other", attempt=1)
    response = await register_without_username(client, second, secret="other")
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == "@jean.dupont-interieur.gouv.fr2:test.local"


async def test_an_agent_logs_in_with_their_email_address(client, inbox):
    sid = await validated_sid(client, inbox, email=EMAIL)
    user_id = (await register_without_username(client, sid)).json()["user_id"]
    identifier = {
        "type": "m.id.thirdparty",
        "medium": "email",
        "address": "jean.dupont@INTERIEUR.gouv.fr",
    }
    login = await client.post(
        V3 + "/login",
        json={"type": "m.login.password", "identifier": identifier, "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    assert login.json()["user_id"] == user_id
    for address, password in (("jean.dupont@interieur.gouv.fr", "wrong"), ("x@y.fr", PASSWORD)):
        wrong = await client.post(
            V3 + "/login",
            json={
                "type": "m.login.password",
                "identifier": {**identifier, "address": address},
                "password": password,
            },
        )
        error(wrong, 403, "M_FORBIDDEN")


async def test_a_locked_display_name_cannot_be_changed(client, inbox):
    sid = await validated_sid(client, inbox, email=EMAIL)
    body = (await register_without_username(client, sid)).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    change = await client.put(
        V3 + f"/profile/{body['user_id']}/displayname",
        json={"displayname": "Quelqu'un d'autre"},
        headers=headers,
    )
    error(change, 403, "M_FORBIDDEN")
    capabilities = await client.get(V3 + "/capabilities", headers=headers)
    assert capabilities.json()["capabilities"]["m.set_displayname"] == {"enabled": False}
    avatar = await client.put(
        V3 + f"/profile/{body['user_id']}/avatar_url",
        json={"avatar_url": "mxc://test.local/abcdefgh"},
        headers=headers,
    )
    assert avatar.status_code == 200
