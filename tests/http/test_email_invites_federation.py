"""Invitations by email to another server's address: two in-process servers, a real SMTP server.

A holds the agents (interieur.gouv.fr); every other address belongs to B, the
external partners' server. A asks B to hold the invitation (``store-invite``),
B mails it and, once the partner has registered, redeems it on A
(``exchange_third_party_invite``); the membership comes back to B as a
federation invite. tests/e2e/test_email_invites_e2e.py runs the same between
two processes over TLS.
"""

from typing import Any

import pytest

from tests.http.test_email_invites import email_invite, register_by_email
from tests.http.two_servers import A, B, Router, Server, make_server

PARTNER = "partner@example.org"


def policy_overrides(smtp_port: int) -> dict[str, Any]:
    """The same policy on both servers; B is the partners' server."""
    return {
        "public_baseurl": "https://sceau.test/",
        "registration": {"mode": "email"},
        "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "from_address": "no@x.test"},
        "policy": {
            "email_routing": {
                "patterns": [{"domain": "interieur.gouv.fr", "server": A}],
                "external_server": B,
            },
            "room_access_rules": True,
        },
    }


@pytest.fixture
async def servers(tmp_path, smtp):
    router = Router()
    extra = policy_overrides(smtp[1])
    a = await make_server(tmp_path, A, router, [B], 3, **extra)
    b = await make_server(tmp_path, B, router, [A], 4, **extra)
    yield a, b, router
    for server in (a, b):
        await server.http.aclose()
        await server.services.federation.stop()
        await server.services.stores.db.close()


async def unrestricted_room(server: Server, creator: Any) -> str:
    room = (await creator.ok("POST", "/createRoom", json={"name": "Projet"}))["room_id"]
    rule = {"rule": "unrestricted"}
    await creator.ok("PUT", f"/rooms/{room}/state/im.vector.room.access_rules/", json=rule)
    return str(room)


async def sync_invites(http: Any, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    body = (await http.get("/_matrix/client/v3/sync?timeout=0", headers=headers)).json()
    return dict(body.get("rooms", {}).get("invite", {}))


async def test_a_partner_invited_on_a_registers_on_b_and_joins(servers, inbox):
    a, b, _ = servers
    alice = await a.user("alice")
    name = {"displayname": "Alice Agent"}
    await alice.ok("PUT", f"/profile/{alice.user_id}/displayname", json=name)
    room = await unrestricted_room(a, alice)
    assert (await email_invite(alice, room, PARTNER)).status_code == 200

    state = await alice.ok("GET", f"/rooms/{room}/state")
    [invite] = [e for e in state if e["type"] == "m.room.third_party_invite"]
    assert invite["content"]["display_name"] == "p***@e***.org"
    assert PARTNER not in str(state)
    assert invite["content"]["public_key"] == b.services.signing_key.verify_key_base64
    [mail] = inbox.messages
    assert mail["To"] == PARTNER
    text = mail.get_payload(decode=True).decode()
    assert f'Alice Agent ({alice.user_id}) invites you to "Projet" on {B}' in text
    info = await b.http.get(
        "/_matrix/identity/api/v1/info", params={"medium": "email", "address": PARTNER}
    )
    assert info.json() == {"hs": B, "invited": True}

    partner = await register_by_email(b.http, inbox, PARTNER)
    assert partner["user_id"].endswith(":" + B)
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{partner['user_id']}")
    assert member["membership"] == "invite"
    assert member["third_party_invite"]["signed"]["token"] == invite["state_key"]
    assert room in await sync_invites(b.http, partner["access_token"])

    headers = {"Authorization": f"Bearer {partner['access_token']}"}
    joined = await b.http.post(
        f"/_matrix/client/v3/join/{room}?server_name={A}", json={}, headers=headers
    )
    assert joined.status_code == 200, joined.text
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{partner['user_id']}")
    assert member["membership"] == "join"
    assert not await b.services.email_invites.is_invited(PARTNER)


async def test_a_restricted_room_refuses_a_partner_of_b(servers, inbox):
    a, b, _ = servers
    alice = await a.user("alice")
    forum = await alice.ok("POST", "/createRoom", json={"preset": "public_chat"})
    refused = await email_invite(alice, forum["room_id"], PARTNER)
    assert (refused.status_code, refused.json()["policy"]) == (403, "EXTERNAL_NOT_ALLOWED")
    assert inbox.messages == []
    bob = await b.user("bob")
    joined = await bob.request("POST", f"/join/{forum['room_id']}?server_name={A}", json={})
    assert joined.status_code == 403, joined.text
    assert "closed to external partners" in joined.json()["error"]


async def test_an_address_with_an_account_on_b_invites_that_account(servers, inbox):
    a, b, _ = servers
    alice = await a.user("alice")
    room = await unrestricted_room(a, alice)
    assert (await email_invite(alice, room, PARTNER)).status_code == 200
    partner = await register_by_email(b.http, inbox, PARTNER)
    other = await unrestricted_room(a, alice)
    assert (await email_invite(alice, other, PARTNER.upper())).status_code == 200
    member = await alice.ok("GET", f"/rooms/{other}/state/m.room.member/{partner['user_id']}")
    assert member["membership"] == "invite" and "third_party_invite" not in member
    state = await alice.ok("GET", f"/rooms/{other}/state")
    assert not [e for e in state if e["type"] == "m.room.third_party_invite"]


async def test_an_unreachable_b_fails_the_invitation_and_leaves_no_event(servers, inbox):
    a, _b, router = servers
    alice = await a.user("alice")
    room = await unrestricted_room(a, alice)
    router.down.add(B)
    refused = await email_invite(alice, room, PARTNER)
    assert refused.status_code == 502 and B in refused.json()["error"]
    state = await alice.ok("GET", f"/rooms/{room}/state")
    assert not [e for e in state if e["type"] == "m.room.third_party_invite"]
    assert inbox.messages == []


async def test_expiry_revokes_the_event_on_a_and_drops_the_invitation_on_b(servers, inbox):
    a, b, _ = servers
    alice = await a.user("alice")
    room = await unrestricted_room(a, alice)
    await email_invite(alice, room, PARTNER)
    for server in (a, b):
        async with server.services.stores.db.transaction() as txn:
            await txn.execute("UPDATE email_invites SET expires_ts = 0")
        assert await server.services.email_invites.expire() == 1
    state = await alice.ok("GET", f"/rooms/{room}/state")
    [invite] = [e for e in state if e["type"] == "m.room.third_party_invite"]
    assert invite["content"] == {}
    assert not await b.services.email_invites.is_invited(PARTNER)


async def test_a_redemption_that_cannot_reach_a_is_kept_and_retried(servers, inbox):
    a, b, router = servers
    alice = await a.user("alice")
    room = await unrestricted_room(a, alice)
    assert (await email_invite(alice, room, PARTNER)).status_code == 200
    router.down.add(A)
    partner = await register_by_email(b.http, inbox, PARTNER)
    assert await b.services.email_invites.retry_claims() == 0, "A is still away"
    router.down.discard(A)
    assert await b.services.email_invites.retry_claims() == 1
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{partner['user_id']}")
    assert member["membership"] == "invite"
    assert await b.services.email_invites.retry_claims() == 0, "redeemed once"


async def test_an_identity_token_from_a_users_openid_token_stores_an_invite_on_b(servers, inbox):
    a, b, _ = servers
    alice = await a.user("alice")
    openid = await alice.ok("POST", f"/user/{alice.user_id}/openid/request_token", json={})
    registered = await b.http.post("/_matrix/identity/v2/account/register", json=openid)
    assert registered.status_code == 200, registered.text
    bearer = {"Authorization": f"Bearer {registered.json()['token']}"}
    body = {"medium": "email", "address": PARTNER, "room_id": f"!r:{A}", "sender": alice.user_id}
    stored = await b.http.post("/_matrix/identity/v2/store-invite", json=body, headers=bearer)
    assert stored.status_code == 200, stored.text
    assert await b.services.email_invites.is_invited(PARTNER)
