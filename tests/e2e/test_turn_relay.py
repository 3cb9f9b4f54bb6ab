"""The credentials of /voip/turnServer open a relay on a real coturn; nothing else does.

``sceau serve`` and coturn share the secret as docs/calls.md describes; a
UDP peer on loopback stands for the other end of a call.
"""

import secrets
import socket
from collections.abc import Iterator

import httpx
import pytest

from sceau.protocol.turn import turn_rest_password
from tests.coturn_support import Coturn, coturn  # noqa: F401 (fixture)
from tests.e2e.server import ServerFactory, ServerProcess
from tests.turn_client import TurnClient, TurnError

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(make_module_server: ServerFactory, coturn: Coturn) -> ServerProcess:  # noqa: F811
    return make_module_server(voip={"turn_uris": [coturn.uri], "turn_shared_secret": coturn.secret})


def credentials(server: ServerProcess) -> dict:
    """Register a user on the real server and ask it for TURN credentials."""
    body = {
        "username": "caller" + secrets.token_hex(4),
        "password": "correct horse battery",
        "auth": {"type": "m.login.dummy"},
    }
    registered = httpx.post(server.url + "/_matrix/client/v3/register", json=body, timeout=10)
    assert registered.status_code == 200, registered.text
    token = registered.json()["access_token"]
    response = httpx.get(
        server.url + "/_matrix/client/v3/voip/turnServer",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    """The far end of the call: a UDP socket on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


def turn_client(coturn: Coturn, username: str, password: str) -> TurnClient:  # noqa: F811
    return TurnClient((coturn.host, coturn.port), username, password)


def test_sceau_credentials_allocate_a_relay_that_carries_data_both_ways(
    server: ServerProcess,
    coturn: Coturn,  # noqa: F811
    peer: socket.socket,
):
    creds = credentials(server)
    assert creds["uris"] == [coturn.uri]
    client = turn_client(coturn, creds["username"], creds["password"])
    try:
        relayed = client.allocate()
        assert relayed[0] == "127.0.0.1" and relayed[1] > 0
        client.permit("127.0.0.1")
        peer_address = peer.getsockname()
        client.send(peer_address, b"audio frame")
        data, source = peer.recvfrom(2048)
        assert (data, source) == (b"audio frame", relayed)  # it came out of the relay
        peer.sendto(b"video frame", relayed)
        assert client.receive() == (peer_address, b"video frame")
    finally:
        client.close()


def test_a_wrong_password_is_refused(server: ServerProcess, coturn: Coturn):  # noqa: F811
    creds = credentials(server)
    wrong = turn_rest_password("not the shared secret", creds["username"])
    assert wrong != creds["password"]
    client = turn_client(coturn, creds["username"], wrong)
    try:
        with pytest.raises(TurnError) as refused:
            client.allocate()
        assert refused.value.code == 401
    finally:
        client.close()


def test_another_users_name_with_my_password_is_refused(
    server: ServerProcess,
    coturn: Coturn,  # noqa: F811
):
    mine, theirs = credentials(server), credentials(server)
    client = turn_client(coturn, theirs["username"], mine["password"])
    try:
        with pytest.raises(TurnError) as refused:
            client.allocate()
        assert refused.value.code == 401
    finally:
        client.close()


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "127.0.0.2", "0.0.0.1"]
)
def test_the_documented_rules_keep_the_relay_off_private_addresses(
    server: ServerProcess,
    coturn: Coturn,  # noqa: F811
    address: str,
):
    creds = credentials(server)
    client = turn_client(coturn, creds["username"], creds["password"])
    try:
        client.allocate()
        with pytest.raises(TurnError) as refused:
            client.permit(address)
        assert refused.value.code == 403
    finally:
        client.close()
