"""Invitations by email to people without an account: the spec's third-party invite flow,
with this server as its own identity server and a real SMTP server (aiosmtpd)."""

from typing import Any

import pytest

from tests.http.test_email_registration import PASSWORD, V3, follow, request_token

ROUTING = {
    "patterns": [{"domain": "interieur.gouv.fr", "server": "test.local"}],
    "external_server": "externes.test",
}
INVITEE = "nouvel.agent@interieur.gouv.fr"


@pytest.fixture
def config_overrides(smtp) -> dict[str, Any]:
    return {
        "public_baseurl": "https://sceau.test/",
        "registration": {"mode": "email"},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "from_address": "no@sceau.test"},
        "policy": {"email_routing": ROUTING, "room_access_rules": True},
    }


async def agent(services: Any, user_factory: Any, name: str) -> Any:
    return await user_factory(name)


async def email_invite(user: Any, room: str, address: str) -> Any:
    body = {"id_server": "sceau.test", "medium": "email", "address": address}
    return await user.request("POST", f"/rooms/{room}/invite", json=body)


async def register_by_email(client: Any, inbox: Any, address: str) -> dict[str, Any]:
    response = await request_token(client, email=address)
    assert response.status_code == 200, response.text
    assert (await follow(client, inbox.link())).status_code == 200
    auth = {
        "type": "m.login.email.identity",
        "threepid_creds": {"sid": response.json()["sid"], "client_secret": "s3cret"},
    }
    done = await client.post(V3 + "/register", json={"password": PASSWORD, "auth": auth})
    assert done.status_code == 200, done.text
    return dict(done.json())


async def test_an_invited_address_becomes_a_member_when_its_owner_registers(
    client, user_factory, inbox, services
):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"name": "Cellule"}))["room_id"]
    assert (await email_invite(alice, room, INVITEE)).status_code == 200
    state = await alice.ok("GET", f"/rooms/{room}/state")
    [invite] = [e for e in state if e["type"] == "m.room.third_party_invite"]
    assert invite["content"]["display_name"] == "n***@i***.gouv.fr", "the address is masked"
    assert INVITEE not in str(state)
    assert invite["content"]["public_key"] == services.signing_key.verify_key_base64
    [mail] = inbox.messages
    assert mail["To"] == INVITEE
    assert f'{alice.user_id} invites you to "Cellule"' in mail.get_payload(decode=True).decode()
    info = await client.get(
        "/_matrix/identity/api/v1/info", params={"medium": "email", "address": INVITEE}
    )
    assert info.json() == {"hs": "test.local", "invited": True}
    isvalid = await client.get(
        "/_matrix/identity/v2/pubkey/isvalid",
        params={"public_key": invite["content"]["public_key"]},
    )
    assert isvalid.json() == {"valid": True}

    new = await register_by_email(client, inbox, INVITEE)
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{new['user_id']}")
    assert member["membership"] == "invite"
    assert member["third_party_invite"]["signed"]["token"] == invite["state_key"]
    headers = {"Authorization": f"Bearer {new['access_token']}"}
    joined = await client.post(V3 + f"/rooms/{room}/join", json={}, headers=headers)
    assert joined.status_code == 200, joined.text
    again = await client.get(
        "/_matrix/identity/api/v1/info", params={"medium": "email", "address": INVITEE}
    )
    assert again.json()["invited"] is False


async def test_an_address_with_an_account_invites_that_account(client, user_factory, inbox):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    new = await register_by_email(client, inbox, INVITEE)
    assert (await email_invite(alice, room, INVITEE.upper())).status_code == 200
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{new['user_id']}")
    assert member["membership"] == "invite" and "third_party_invite" not in member


async def test_a_restricted_room_refuses_an_external_address(user_factory, inbox):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    refused = await email_invite(alice, room, "partenaire@prestataire.fr")
    assert refused.status_code == 403
    assert refused.json()["policy"] == "EXTERNAL_NOT_ALLOWED"
    assert "Ce salon n'est pas ouvert aux partenaires externes" in refused.json()["error"]


async def test_an_address_of_another_server_is_refused_when_federation_is_off(user_factory, inbox):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok(
        "PUT", f"/rooms/{room}/state/im.vector.room.access_rules/", json={"rule": "unrestricted"}
    )
    refused = await email_invite(alice, room, "partenaire@prestataire.fr")
    assert refused.status_code == 403
    assert refused.json()["policy"] == "ADDRESS_SERVER_NOT_FEDERATED"
    assert "belongs to externes.test, and federation is off" in refused.json()["error"]
    assert "relève du serveur externes.test" in refused.json()["error"]
    state = await alice.ok("GET", f"/rooms/{room}/state")
    assert not [e for e in state if e["type"] == "m.room.third_party_invite"]
    assert inbox.messages == []


@pytest.mark.parametrize(
    "config_overrides",
    [
        {
            "federation": {"enabled": True, "allow": ["ailleurs.test"]},
            "policy": {"email_routing": ROUTING, "room_access_rules": True},
        }
    ],
)
async def test_an_address_of_a_server_off_the_allowlist_is_refused(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await alice.ok(
        "PUT", f"/rooms/{room}/state/im.vector.room.access_rules/", json={"rule": "unrestricted"}
    )
    refused = await email_invite(alice, room, "partenaire@prestataire.fr")
    assert refused.status_code == 403
    assert refused.json()["policy"] == "ADDRESS_SERVER_NOT_FEDERATED"
    assert (
        "externes.test, which is not in this server's federation.allow" in refused.json()["error"]
    )
    state = await alice.ok("GET", f"/rooms/{room}/state")
    assert not [e for e in state if e["type"] == "m.room.third_party_invite"]


async def test_a_direct_chat_takes_one_email_invitation_at_most(user_factory, inbox):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={"is_direct": True}))["room_id"]
    assert (await email_invite(alice, room, INVITEE)).status_code == 200
    second = await email_invite(alice, room, "autre.agent@interieur.gouv.fr")
    assert second.status_code == 403 and second.json()["policy"] == "DIRECT_ROOM_FULL"


async def test_expired_invitations_are_revoked(client, user_factory, inbox, services):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await email_invite(alice, room, INVITEE)
    assert await services.email_invites.expire() == 0
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE email_invites SET expires_ts = 0")
    assert await services.email_invites.expire() == 1
    state = await alice.ok("GET", f"/rooms/{room}/state")
    [invite] = [e for e in state if e["type"] == "m.room.third_party_invite"]
    assert invite["content"] == {}
    assert not await services.email_invites.is_invited(INVITEE)


async def test_bad_third_party_invites_are_refused(user_factory):
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    phone = await alice.request(
        "POST", f"/rooms/{room}/invite", json={"medium": "msisdn", "address": "33600000000"}
    )
    assert phone.status_code == 400
    garbage = await email_invite(alice, room, "not an address")
    assert garbage.status_code == 400


@pytest.mark.parametrize(
    "config_overrides",
    [
        {
            "policy": {"email_routing": ROUTING, "room_access_rules": True},
            "rate_limits": {"enabled": True, "email": {"per_second": 0.001, "burst": 2}},
        }
    ],
)
async def test_email_invitations_are_rate_limited_per_sender(user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    other = (await bob.ok("POST", "/createRoom", json={}))["room_id"]
    for n in range(2):
        sent = await email_invite(alice, room, f"agent{n}@interieur.gouv.fr")
        assert sent.status_code == 200, sent.text
    limited = await email_invite(alice, room, "agent9@interieur.gouv.fr")
    assert (limited.status_code, limited.json()["errcode"]) == (429, "M_LIMIT_EXCEEDED")
    state = await alice.ok("GET", f"/rooms/{room}/state")
    assert len([e for e in state if e["type"] == "m.room.third_party_invite"]) == 2
    assert (await email_invite(bob, other, "agent9@interieur.gouv.fr")).status_code == 200
