"""Two real Sceau processes federating over TLS on loopback (a CA made for the run).

They fetch each other's keys, answer profile and key queries, carry
to-device messages both ways, and refuse a server that is not on their
allowlist. Rooms across servers are covered by the event graph's own
end-to-end tests; a peer caught up after an outage by test_federation_outage.py.
"""

import ssl
from collections.abc import Iterator

import httpx
import pytest

from sceau.protocol.federation import check_server_keys, sign_request
from sceau.protocol.signing import generate_signing_key
from tests.e2e.federation_servers import (
    FederationLab,
    register,
    running_lab,
)
from tests.http.test_keys_helpers import ClientDevice

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FederationLab]:
    with running_lab(tmp_path_factory.mktemp("federation")) as lab:
        yield lab


async def test_keys_are_served_over_tls_for_the_name_with_its_port(lab):
    a = lab.servers[0]
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=str(lab.ca_path))
    ) as http:
        body = (await http.get(a.federation_url + "/_matrix/key/v2/server")).json()
    assert body["server_name"] == a.name
    assert check_server_keys(body, a.name)
    with pytest.raises(httpx.ConnectError):  # not trusted without the run's CA
        async with httpx.AsyncClient() as http:
            await http.get(a.federation_url + "/_matrix/key/v2/server")


async def test_profile_and_keys_cross_between_the_servers(lab):
    a, b = lab.servers
    alice, bob = await register(a, "alice1"), await register(b, "bob1")
    await bob.ok("PUT", f"/profile/{bob.user_id}/displayname", json={"displayname": "Bob of B"})
    assert (await alice.ok("GET", f"/profile/{bob.user_id}"))["displayname"] == "Bob of B"
    device = ClientDevice(bob.user_id, bob.device_id)
    await bob.ok(
        "POST",
        "/keys/upload",
        json={"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(2)},
    )
    queried = await alice.ok("POST", "/keys/query", json={"device_keys": {bob.user_id: []}})
    assert queried["failures"] == {}
    assert (
        queried["device_keys"][bob.user_id][bob.device_id]["keys"] == device.device_keys()["keys"]
    )
    claim = {"one_time_keys": {bob.user_id: {bob.device_id: "signed_curve25519"}}}
    first, second = (
        await alice.ok("POST", "/keys/claim", json=claim),
        await alice.ok("POST", "/keys/claim", json=claim),
    )
    key1, key2 = (c["one_time_keys"][bob.user_id][bob.device_id] for c in (first, second))
    assert key1 != key2


async def test_to_device_messages_cross_both_ways(lab):
    a, b = lab.servers
    alice, bob = await register(a, "alice2"), await register(b, "bob2")
    await alice.ok(
        "PUT",
        "/sendToDevice/m.room.encrypted/t1",
        json={"messages": {bob.user_id: {bob.device_id: {"n": "to bob"}}}},
    )
    await bob.ok(
        "PUT",
        "/sendToDevice/m.room.encrypted/t1",
        json={"messages": {alice.user_id: {"*": {"n": "to alice"}}}},
    )
    (to_bob,) = await bob.to_device_until(1)
    (to_alice,) = await alice.to_device_until(1)
    assert (to_bob["sender"], to_bob["content"]) == (alice.user_id, {"n": "to bob"})
    assert (to_alice["sender"], to_alice["content"]) == (bob.user_id, {"n": "to alice"})


async def test_servers_off_the_allowlist_are_refused_both_ways(lab):
    a, _b = lab.servers
    alice = await register(a, "alice4")
    outsider = "127.0.0.1:1"
    response = await alice.http.get(f"/_matrix/client/v3/profile/@eve:{outsider}")
    assert response.status_code == 403
    assert outsider in response.json()["error"]
    key = generate_signing_key(b"\x05" * 32, "x")
    path = "/_matrix/federation/v1/query/profile?user_id=" + alice.user_id.replace(
        "@", "%40"
    ).replace(":", "%3A")
    header = sign_request("GET", path, outsider, a.name, None, key)
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=str(lab.ca_path))
    ) as http:
        refused = await http.get(a.federation_url + path, headers={"Authorization": header})
        unsigned = await http.get(a.federation_url + path)
    assert (refused.status_code, refused.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert (unsigned.status_code, unsigned.json()["errcode"]) == (401, "M_UNAUTHORIZED")
