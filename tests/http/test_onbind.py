"""PUT /_matrix/federation/v1/3pid/onbind: an identity server other than Sceau's own redeems
the invitations it held for an address once the address is bound to a Matrix ID."""

from typing import Any

import pytest

from sceau.protocol.signing import generate_signing_key, sign_json
from tests.http.federation_support import federation_overrides
from tests.http.two_servers import server_pair

ONBIND = "/_matrix/federation/v1/3pid/onbind"
IDENTITY = "id.example"
IDENTITY_KEY = generate_signing_key(b"\x33" * 32, "0")
OTHER_KEY = generate_signing_key(b"\x34" * 32, "0")
ADDRESS = "bob@example.org"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return federation_overrides()


async def third_party_invite(inviter: Any, room: str, token: str) -> None:
    """The invitation the identity server stored, as the inviter's client puts it in the room."""
    key = {
        "public_key": IDENTITY_KEY.verify_key_base64,
        "key_validity_url": f"https://{IDENTITY}/_matrix/identity/v2/pubkey/isvalid",
    }
    content = {"display_name": "b***@e***.org", **key, "public_keys": [key]}
    await inviter.ok("PUT", f"/rooms/{room}/state/m.room.third_party_invite/{token}", json=content)


def onbind_body(mxid: str, room: str, sender: str, token: str, key: Any = IDENTITY_KEY) -> dict:
    signed = sign_json({"mxid": mxid, "token": token}, IDENTITY, key)
    invite = {
        "address": ADDRESS,
        "medium": "email",
        "mxid": mxid,
        "room_id": room,
        "sender": sender,
        "signed": signed,
    }
    return {"address": ADDRESS, "medium": "email", "mxid": mxid, "invites": [invite]}


async def test_onbind_turns_a_signed_invitation_into_an_invite(client, user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await third_party_invite(alice, room, "tok1")
    response = await client.put(ONBIND, json=onbind_body(bob.user_id, room, alice.user_id, "tok1"))
    assert (response.status_code, response.json()) == (200, {})
    member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert member["membership"] == "invite"
    assert member["third_party_invite"]["display_name"] == "b***@e***.org"
    assert member["third_party_invite"]["signed"]["token"] == "tok1"
    await bob.ok("POST", f"/join/{room}", json={})


async def test_onbind_refuses_a_signature_by_a_key_the_room_does_not_list(client, user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await third_party_invite(alice, room, "tok1")
    forged = onbind_body(bob.user_id, room, alice.user_id, "tok1", key=OTHER_KEY)
    assert (await client.put(ONBIND, json=forged)).status_code == 200
    unknown = onbind_body(bob.user_id, room, alice.user_id, "no-such-token")
    assert (await client.put(ONBIND, json=unknown)).status_code == 200
    members = await alice.ok("GET", f"/rooms/{room}/members")
    assert bob.user_id not in {e["state_key"] for e in members["chunk"]}


async def test_onbind_refuses_a_body_for_another_server_or_mismatched_ids(client, user_factory):
    alice, bob = await user_factory("alice"), await user_factory("bob")
    room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
    await third_party_invite(alice, room, "tok1")
    elsewhere = onbind_body("@bob:elsewhere.example", room, alice.user_id, "tok1")
    response = await client.put(ONBIND, json=elsewhere)
    assert (response.status_code, response.json()["errcode"]) == (400, "M_INVALID_PARAM")
    swapped = onbind_body(bob.user_id, room, alice.user_id, "tok1")
    swapped["invites"][0]["signed"] = sign_json(
        {"mxid": alice.user_id, "token": "tok1"}, IDENTITY, IDENTITY_KEY
    )
    assert (await client.put(ONBIND, json=swapped)).status_code == 200
    member = await alice.request("GET", f"/rooms/{room}/state/m.room.member/{bob.user_id}")
    assert member.status_code == 404
    bad = await client.put(ONBIND, json={"medium": "email", "address": ADDRESS})
    assert (bad.status_code, bad.json()["errcode"]) == (400, "M_BAD_JSON")


@pytest.mark.parametrize("config_overrides", [{}])
async def test_onbind_is_not_served_when_federation_is_off(client):
    response = await client.put(ONBIND, json={})
    assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")


async def test_onbind_on_the_invitees_server_is_passed_to_the_inviters(tmp_path):
    async for a, b, _ in server_pair(tmp_path):
        alice, bob = await a.user("alice"), await b.user("bob")
        room = (await alice.ok("POST", "/createRoom", json={}))["room_id"]
        await third_party_invite(alice, room, "tok1")
        body = onbind_body(bob.user_id, room, alice.user_id, "tok1")
        response = await b.http.put(ONBIND, json=body)
        assert response.status_code == 200, response.text
        member = await alice.ok("GET", f"/rooms/{room}/state/m.room.member/{bob.user_id}")
        assert member["membership"] == "invite"
        assert member["third_party_invite"]["signed"]["token"] == "tok1"
        carol = await b.user("carol")
        await third_party_invite(alice, room, "tok2")
        forged = onbind_body(carol.user_id, room, alice.user_id, "tok2", key=OTHER_KEY)
        assert (await b.http.put(ONBIND, json=forged)).status_code == 200
        refused = await alice.request("GET", f"/rooms/{room}/state/m.room.member/{carol.user_id}")
        assert refused.status_code == 404, "A checked the signature and refused"
