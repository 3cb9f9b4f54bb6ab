"""The two server-to-server endpoints of invitations by email, on both databases.

``store-invite`` (this server as the identity server of the addresses the
mapping gives it) and ``exchange_third_party_invite`` (this server as the
room's), called by a pinned remote server that signs its requests. The whole
round trip between two servers is in test_email_invites_federation.py.
"""

from typing import Any

import pytest

from sceau.protocol.signing import sign_json
from sceau.storage.threepids import BoundThreepid, ThreepidStore
from tests.http.federation_support import (
    REMOTE,
    REMOTE_KEY,
    STRANGER_KEY,
    federation_overrides,
    signed,
)

STORE = "/_matrix/identity/v2/store-invite"
PARTNER = "partner@example.org"
AGENT = f"@agent:{REMOTE}"
REMOTE_ROOM = f"!room:{REMOTE}"


@pytest.fixture
def config_overrides(smtp) -> dict[str, Any]:
    return {
        **federation_overrides(),
        "public_baseurl": "https://sceau.test/",
        "registration": {"mode": "email"},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "from_address": "no@x.test"},
        "policy": {
            "email_routing": {
                "patterns": [{"domain": "interieur.gouv.fr", "server": REMOTE}],
                "external_server": "test.local",
            },
        },
    }


def store_body(**changes: Any) -> dict[str, Any]:
    body = {"medium": "email", "address": PARTNER, "room_id": REMOTE_ROOM, "sender": AGENT}
    return {**body, **changes}


async def test_store_invite_holds_and_mails_an_invitation_for_an_address_of_this_server(
    client, services, inbox
):
    labels = {"room_name": "Projet", "sender_display_name": "Agent A"}
    answer = await signed(client, "POST", STORE, body=store_body(**labels))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["display_name"] == "p***@e***.org"
    assert body["public_keys"] == [
        {
            "public_key": services.signing_key.verify_key_base64,
            "key_validity_url": "https://sceau.test/_matrix/identity/v2/pubkey/isvalid",
        }
    ]
    [mail] = inbox.messages
    assert mail["To"] == PARTNER
    text = mail.get_payload(decode=True).decode()
    assert f'Agent A ({AGENT}) invites you to "Projet" on test.local' in text
    [held] = await services.email_invites._store.pending_for(PARTNER, services.clock.time_ms())
    assert (held.token, held.room_id, held.sender) == (body["token"], REMOTE_ROOM, AGENT)
    info = await client.get(
        "/_matrix/identity/api/v1/info", params={"medium": "email", "address": PARTNER}
    )
    assert info.json() == {"hs": "test.local", "invited": True}


async def test_store_invite_refuses_unsigned_or_misattributed_or_misrouted_requests(client, inbox):
    unsigned = await client.post(STORE, json=store_body())
    assert (unsigned.status_code, unsigned.json()["errcode"]) == (401, "M_UNAUTHORIZED")
    other_sender = await signed(client, "POST", STORE, body=store_body(sender="@eve:c.test"))
    assert other_sender.status_code == 403
    agent_address = store_body(address="jean@interieur.gouv.fr")
    misrouted = await signed(client, "POST", STORE, body=agent_address)
    assert (misrouted.status_code, misrouted.json()["errcode"]) == (403, "M_THREEPID_DENIED")
    assert REMOTE in misrouted.json()["error"]
    phone = await signed(client, "POST", STORE, body=store_body(medium="msisdn"))
    assert phone.status_code == 400
    garbage = await signed(client, "POST", STORE, body=store_body(address="not an address"))
    assert garbage.status_code == 400
    assert inbox.messages == []


async def test_store_invite_names_the_account_an_address_already_has(client, services, inbox):
    now = services.clock.time_ms()
    bound = BoundThreepid("email", PARTNER, "@partner:test.local", now, now)
    async with services.stores.db.transaction() as txn:
        await ThreepidStore(services.stores.db).bind(txn, bound)
    answer = await signed(client, "POST", STORE, body=store_body())
    assert answer.status_code == 400
    assert answer.json()["errcode"] == "M_THREEPID_IN_USE"
    assert answer.json()["mxid"] == "@partner:test.local"
    assert inbox.messages == []


async def test_expiry_drops_an_invitation_held_for_another_servers_room(client, services, inbox):
    assert (await signed(client, "POST", STORE, body=store_body())).status_code == 200
    async with services.stores.db.transaction() as txn:
        await txn.execute("UPDATE email_invites SET expires_ts = 0")
    assert await services.email_invites.expire() == 1
    assert not await services.email_invites.is_invited(PARTNER)


async def test_an_invitation_whose_address_has_an_account_is_listed_as_claimable(
    client, services, inbox
):
    store = services.email_invites._store
    assert (await signed(client, "POST", STORE, body=store_body())).status_code == 200
    now = services.clock.time_ms()
    assert await store.claimable(now) == []
    bound = BoundThreepid("email", PARTNER, "@partner:test.local", now, now)
    async with services.stores.db.transaction() as txn:
        await ThreepidStore(services.stores.db).bind(txn, bound)
    [(invite, user_id)] = await store.claimable(now)
    assert (invite.address, invite.sender, user_id) == (PARTNER, AGENT, "@partner:test.local")


# ------------------------------------------------ exchange_third_party_invite


async def room_with_invitation(user_factory: Any, token: str = "tok") -> tuple[Any, str]:
    """A room of this server holding an email invitation whose key is REMOTE's."""
    alice = await user_factory("alice")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    content = {
        "display_name": "p***@e***.org",
        "key_validity_url": "https://remote.example/_matrix/identity/v2/pubkey/isvalid",
        "public_key": REMOTE_KEY.verify_key_base64,
    }
    await alice.ok("PUT", f"/rooms/{room}/state/m.room.third_party_invite/{token}", json=content)
    return alice, room


def exchange_event(room: str, sender: str, mxid: str, token: str = "tok", key: Any = REMOTE_KEY):
    block = sign_json({"mxid": mxid, "token": token}, REMOTE, key)
    content = {
        "membership": "invite",
        "third_party_invite": {"display_name": "p***@e***.org", "signed": block},
    }
    return {
        "type": "m.room.member",
        "room_id": room,
        "sender": sender,
        "state_key": mxid,
        "content": content,
    }


def exchange_path(room: str) -> str:
    return f"/_matrix/federation/v1/exchange_third_party_invite/{room}"


async def test_exchange_refuses_what_does_not_redeem_a_pending_invitation(client, user_factory):
    alice, room = await room_with_invitation(user_factory)
    partner = f"@partner:{REMOTE}"
    cases = {
        "unknown token": (exchange_event(room, alice.user_id, partner, token="other"), 403),
        "wrong key": (exchange_event(room, alice.user_id, partner, key=STRANGER_KEY), 403),
        "invitee of another server": (exchange_event(room, alice.user_id, "@x:c.test"), 403),
        "sender of another server": (exchange_event(room, f"@a:{REMOTE}", partner), 403),
        "not an invite": ({**exchange_event(room, alice.user_id, partner), "type": "x"}, 400),
    }
    for what, (event, status) in cases.items():
        answer = await signed(client, "PUT", exchange_path(room), body=event)
        assert answer.status_code == status, (what, answer.text)
    unsigned = await client.put(
        exchange_path(room), json=exchange_event(room, alice.user_id, partner)
    )
    assert unsigned.status_code == 401
    member = await alice.request("GET", f"/rooms/{room}/state/m.room.member/{partner}")
    assert member.status_code == 404


# ------------------------------------------------ identity accounts (OpenID)

IDENTITY = "/_matrix/identity/v2"


async def identity_token(client: Any, user: Any, server: str = "test.local") -> str:
    """An OpenID token from the user's server, exchanged here for an identity token."""
    openid = await user.ok("POST", f"/user/{user.user_id}/openid/request_token", json={})
    body = {**openid, "matrix_server_name": server}
    answer = await client.post(IDENTITY + "/account/register", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


async def test_an_openid_token_buys_an_identity_token_that_store_invite_accepts(
    client, user_factory, inbox
):
    carol = await user_factory("carol")
    token = await identity_token(client, carol)
    bearer = {"Authorization": f"Bearer {token}"}
    account = await client.get(IDENTITY + "/account", headers=bearer)
    assert account.json() == {"user_id": carol.user_id}
    mine = store_body(sender=carol.user_id, room_id="!room:test.local")
    stored = await client.post(STORE, json=mine, headers=bearer)
    assert stored.status_code == 200, stored.text
    assert stored.json()["display_name"] == "p***@e***.org"
    [mail] = inbox.messages
    assert mail["To"] == PARTNER
    someone_else = await client.post(STORE, json=store_body(), headers=bearer)
    assert someone_else.status_code == 403
    assert (await client.post(IDENTITY + "/account/logout", headers=bearer)).status_code == 200
    gone = await client.get(IDENTITY + "/account", headers=bearer)
    assert (gone.status_code, gone.json()["errcode"]) == (401, "M_UNAUTHORIZED")
    assert (await client.post(STORE, json=mine, headers=bearer)).status_code == 401


async def test_account_register_refuses_unknown_or_missing_openid_tokens(client):
    unknown = {"access_token": "nope", "matrix_server_name": "test.local"}
    refused = await client.post(IDENTITY + "/account/register", json=unknown)
    assert (refused.status_code, refused.json()["errcode"]) == (401, "M_UNAUTHORIZED")
    missing = await client.post(IDENTITY + "/account/register", json={"access_token": "x"})
    assert missing.status_code == 400
    assert (await client.get(IDENTITY)).json() == {}
    assert (await client.get(IDENTITY + "/terms")).json() == {"policies": {}}
