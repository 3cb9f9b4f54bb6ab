"""Sceau and a real Synapse federating over TLS: keys, profiles, device keys and to-device.

Synapse checks Sceau's X-Matrix signatures and key response, and Sceau
checks Synapse's, so both sides of the transport are held to another
implementation. Rooms across the two are the event graph's tests.
"""

import ssl

import httpx
import pytest

from tests.e2e.federation_servers import Client, FederatedServer, FederationLab, register
from tests.e2e.synapse_server import SynapsePair, SynapseProcess
from tests.http.test_keys_helpers import ClientDevice

pytestmark = pytest.mark.e2e


@pytest.fixture
def pair(synapse_pair: SynapsePair) -> tuple[FederationLab, SynapseProcess]:
    return synapse_pair.lab, synapse_pair.synapse


class SynapseUser(Client):
    """A Synapse user, through its client API on the TLS port."""

    def __init__(self, synapse: SynapseProcess, user_id: str, token: str, device_id: str) -> None:
        self.user_id, self.device_id = user_id, device_id
        self.http = httpx.AsyncClient(
            base_url=synapse.url,
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=str(synapse.ca_path)),
            timeout=60,
        )
        self.since = None


async def register_on_synapse(synapse: SynapseProcess, localpart: str) -> SynapseUser:
    context = ssl.create_default_context(cafile=str(synapse.ca_path))
    async with httpx.AsyncClient(base_url=synapse.url, verify=context, timeout=60) as http:
        body = {
            "username": localpart,
            "password": "correct horse battery 1!",
            "auth": {"type": "m.login.dummy"},
        }
        response = await http.post("/_matrix/client/v3/register", json=body)
        if response.status_code == 401:
            body["auth"]["session"] = response.json()["session"]
            response = await http.post("/_matrix/client/v3/register", json=body)
        assert response.status_code == 200, response.text
        data = response.json()
    return SynapseUser(synapse, data["user_id"], data["access_token"], data["device_id"])


async def test_profiles_cross_both_ways(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice")
    sam = await register_on_synapse(synapse, "sam")
    await alice.ok(
        "PUT", f"/profile/{alice.user_id}/displayname", json={"displayname": "Alice Sceau"}
    )
    await sam.ok("PUT", f"/profile/{sam.user_id}/displayname", json={"displayname": "Sam Synapse"})
    assert (await alice.ok("GET", f"/profile/{sam.user_id}"))["displayname"] == "Sam Synapse"
    assert (await sam.ok("GET", f"/profile/{alice.user_id}"))["displayname"] == "Alice Sceau"


async def test_device_keys_are_queried_and_claimed_both_ways(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice2")
    sam = await register_on_synapse(synapse, "sam2")
    alice_device = ClientDevice(alice.user_id, alice.device_id)
    sam_device = ClientDevice(sam.user_id, sam.device_id)
    await alice.ok(
        "POST",
        "/keys/upload",
        json={
            "device_keys": alice_device.device_keys(),
            "one_time_keys": alice_device.one_time_keys(1),
        },
    )
    await sam.ok(
        "POST",
        "/keys/upload",
        json={
            "device_keys": sam_device.device_keys(),
            "one_time_keys": sam_device.one_time_keys(1),
        },
    )
    seen_by_alice = await alice.ok("POST", "/keys/query", json={"device_keys": {sam.user_id: []}})
    assert (
        seen_by_alice["device_keys"][sam.user_id][sam.device_id]["keys"]
        == sam_device.device_keys()["keys"]
    )
    seen_by_sam = await sam.ok("POST", "/keys/query", json={"device_keys": {alice.user_id: []}})
    assert (
        seen_by_sam["device_keys"][alice.user_id][alice.device_id]["keys"]
        == alice_device.device_keys()["keys"]
    )
    claim = await sam.ok(
        "POST",
        "/keys/claim",
        json={"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}},
    )
    assert claim["one_time_keys"][alice.user_id][alice.device_id]
    claim = await alice.ok(
        "POST",
        "/keys/claim",
        json={"one_time_keys": {sam.user_id: {sam.device_id: "signed_curve25519"}}},
    )
    assert claim["one_time_keys"][sam.user_id][sam.device_id]


async def test_to_device_messages_cross_both_ways(pair):
    lab, synapse = pair
    alice = await register(lab.servers[0], "alice3")
    sam = await register_on_synapse(synapse, "sam3")
    await alice.ok(
        "PUT",
        "/sendToDevice/m.test/t1",
        json={"messages": {sam.user_id: {sam.device_id: {"n": "to sam"}}}},
    )
    await sam.ok(
        "PUT",
        "/sendToDevice/m.test/t1",
        json={"messages": {alice.user_id: {alice.device_id: {"n": "to alice"}}}},
    )
    (to_sam,) = await sam.to_device_until(1)
    (to_alice,) = await alice.to_device_until(1)
    assert (to_sam["sender"], to_sam["content"]) == (alice.user_id, {"n": "to sam"})
    assert (to_alice["sender"], to_alice["content"]) == (sam.user_id, {"n": "to alice"})


def federation_requests_from(server: FederatedServer, path: str) -> list[str]:
    """Lines of the server's access log for federation requests to ``path``."""
    assert server.process is not None
    return [
        line
        for line in server.process.log_text().splitlines()
        if "sceau.access" in line and path in line
    ]


async def test_synapse_refuses_a_sceau_server_off_its_whitelist_both_ways(synapse_pair):
    """Synapse's ``federation_domain_whitelist`` leaves out a Sceau server that allows it."""
    outsider, synapse = synapse_pair.unknown_to_synapse, synapse_pair.synapse
    olga = await register(outsider, "olga")
    sam = await register_on_synapse(synapse, "sam_w")
    sams_room = (await sam.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    olgas_room = (await olga.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    denied = f"Federation denied with {outsider.name}"

    # Sceau asks; Synapse answers 403 naming the Sceau server; Sceau passes the refusal on.
    profile = await olga.http.get(f"/_matrix/client/v3/profile/{sam.user_id}")
    assert (profile.status_code, profile.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert f"{synapse.name} refused" in profile.json()["error"]
    assert denied in profile.json()["error"]
    join = await olga.http.post(f"/_matrix/client/v3/join/{sams_room}?server_name={synapse.name}")
    assert join.status_code == 403
    assert f"{synapse.name} refused the join" in join.json()["error"]
    assert denied in join.json()["error"]

    # Synapse sends nothing to the Sceau server: it refuses, or fails the join, by itself.
    asked = await sam.http.get(f"/_matrix/client/v3/profile/{olga.user_id}")
    assert (asked.status_code, asked.json()["error"]) == (403, denied + ".")
    joined = await sam.http.post(
        f"/_matrix/client/v3/join/{olgas_room}?server_name={outsider.name}"
    )
    assert joined.status_code >= 400
    for path in ("/_matrix/federation/v1/query/profile", "/_matrix/federation/v1/make_join/"):
        assert federation_requests_from(outsider, path) == []


async def test_sceau_refuses_synapse_when_it_is_not_in_federation_allow(synapse_pair):
    """A Sceau server on Synapse's whitelist whose ``federation.allow`` leaves Synapse out."""
    closed, synapse = synapse_pair.closed_to_synapse, synapse_pair.synapse
    carl = await register(closed, "carl")
    sam = await register_on_synapse(synapse, "sam_c")
    sams_room = (await sam.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    carls_room = (await carl.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    not_allowed = f"Federation denied with {synapse.name}"

    # Synapse asks; Sceau answers 403 naming Synapse, and Synapse passes it on.
    asked = await sam.http.get(f"/_matrix/client/v3/profile/{carl.user_id}")
    assert (asked.status_code, asked.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert not_allowed in asked.json()["error"]
    joined = await sam.http.post(f"/_matrix/client/v3/join/{carls_room}?server_name={closed.name}")
    assert (joined.status_code, joined.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert not_allowed in joined.json()["error"]
    refusals = federation_requests_from(closed, "/_matrix/federation/v1/make_join/")
    assert refusals and all(" 403 " in line for line in refusals)

    # Sceau sends nothing to Synapse: the profile, the join and the invite fail naming it.
    profile = await carl.http.get(f"/_matrix/client/v3/profile/{sam.user_id}")
    assert (profile.status_code, profile.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert not_allowed in profile.json()["error"]
    join = await carl.http.post(f"/_matrix/client/v3/join/{sams_room}?server_name={synapse.name}")
    invite = await carl.http.post(
        f"/_matrix/client/v3/rooms/{carls_room}/invite", json={"user_id": sam.user_id}
    )
    for refused in (join, invite):
        assert (refused.status_code, refused.json()["errcode"]) == (403, "M_FORBIDDEN")
        assert not_allowed in refused.json()["error"]


async def test_a_sceau_server_refuses_another_sceau_server_off_its_list_both_ways(synapse_pair):
    """Two real Sceau servers: ``unknown_to_synapse`` lists ``sceau``, which does not list it."""
    outsider, sceau = synapse_pair.unknown_to_synapse, synapse_pair.sceau
    olga, alice = await register(outsider, "olga_s"), await register(sceau, "alice_o")
    alices_room = (await alice.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    olgas_room = (await olga.ok("POST", "/createRoom", json={"preset": "public_chat"}))["room_id"]
    denied = f"Federation denied with {outsider.name}"

    # The outsider asks; the listed server refuses it, and the outsider's user is told who.
    for response in (
        await olga.http.get(f"/_matrix/client/v3/profile/{alice.user_id}"),
        await olga.http.post(
            f"/_matrix/client/v3/join/{alices_room}?server_name={sceau.name}", json={}
        ),
    ):
        assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")
        assert f"{sceau.name} refused" in response.json()["error"]
        assert denied in response.json()["error"]
    opaque = alices_room[1:].split(":")[0]  # as it appears in the logged (encoded) path
    refused = [line for line in federation_requests_from(sceau, "/make_join/") if opaque in line]
    assert refused and all(" 403 " in line for line in refused)

    # The listed server sends nothing to the outsider: profile, join and invite fail naming it.
    invite = await alice.http.post(
        f"/_matrix/client/v3/rooms/{alices_room}/invite", json={"user_id": olga.user_id}
    )
    for response in (
        await alice.http.get(f"/_matrix/client/v3/profile/{olga.user_id}"),
        await alice.http.post(
            f"/_matrix/client/v3/join/{olgas_room}?server_name={outsider.name}", json={}
        ),
        invite,
    ):
        assert (response.status_code, response.json()["errcode"]) == (403, "M_FORBIDDEN")
        assert denied in response.json()["error"]
    for path in ("/_matrix/federation/v1/query/profile", "/make_join/", "/invite/"):
        assert federation_requests_from(outsider, path) == []
