"""Sceau and a real Synapse federating over TLS: keys, profiles, device keys and to-device.

Synapse checks Sceau's X-Matrix signatures and key response, and Sceau
checks Synapse's, so both sides of the transport are held to another
implementation. Rooms across the two are the event graph's tests.
"""

import ssl
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.federation_servers import FederationLab
from tests.e2e.synapse_server import SynapseProcess, sceau_and_synapse
from tests.e2e.test_federation_tls import Client, register
from tests.http.test_keys_helpers import ClientDevice

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FederationLab, SynapseProcess]]:
    with sceau_and_synapse(tmp_path_factory.mktemp("synapse-interop")) as servers:
        yield servers


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
