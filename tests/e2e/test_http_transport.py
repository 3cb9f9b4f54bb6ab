"""Bad input at the transport level, where only the real server (uvicorn) sees it.

The in-process tests (tests/http/test_bad_input.py) cannot send a body that
lies about its length, a chunked body that never ends, or bytes that are not
a valid request target. These tests do, over a raw socket, and check that the
server answers with a Matrix error (or a plain 4xx from the HTTP parser), never
5xx, and keeps serving afterwards.
"""

import json
import socket

import httpx
import pytest

from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e

#: The server's default limits.max_request_bytes.
MAX_REQUEST_BYTES = 1_048_576


def raw_request(server: ServerProcess, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send raw bytes; return the status code and the body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        # No half-close: uvicorn takes EOF as the client going away and drops the answer.
        # The request says "Connection: close", so the server closes after answering.
        sock.sendall(head + body)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            chunks.append(data)
    answer = b"".join(chunks)
    assert answer, "the server closed the connection without answering"
    status_line, _, rest = answer.partition(b"\r\n")
    _headers, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), payload


def registered_token(server: ServerProcess) -> str:
    body = {
        "username": "transport",
        "password": "a long password",
        "auth": {"type": "m.login.dummy"},
    }
    response = httpx.post(server.url + "/_matrix/client/v3/register", json=body, timeout=20)
    if response.status_code == 400 and response.json().get("errcode") == "M_USER_IN_USE":
        login = {"type": "m.login.password", "user": "transport", "password": "a long password"}
        response = httpx.post(server.url + "/_matrix/client/v3/login", json=login, timeout=20)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def head(method: str, path: str, token: str, *extra: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        "Connection: close",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_still_serving(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/_matrix/client/versions", timeout=10)
    assert response.status_code == 200


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_sent(
    server: ServerProcess,
):
    token = registered_token(server)
    request = head(
        "POST", "/_matrix/client/v3/createRoom", token, f"Content-Length: {50 * MAX_REQUEST_BYTES}"
    )
    status, payload = raw_request(server, request, b'{"name": "')
    assert status == 413, payload
    assert json.loads(payload)["errcode"] == "M_TOO_LARGE"
    assert_still_serving(server)


def test_a_chunked_body_over_the_limit_is_refused_with_too_large(server: ServerProcess):
    token = registered_token(server)
    chunk = b"x" * 65536
    body = b'{"name": "'
    encoded = b"%x\r\n%s\r\n" % (len(body), body)
    for _ in range(MAX_REQUEST_BYTES // len(chunk) + 2):
        encoded += b"%x\r\n%s\r\n" % (len(chunk), chunk)
    encoded += b'2\r\n"}\r\n0\r\n\r\n'
    request = head("POST", "/_matrix/client/v3/createRoom", token, "Transfer-Encoding: chunked")
    status, payload = raw_request(server, request, encoded)
    assert status == 413, payload[:300]
    assert json.loads(payload)["errcode"] == "M_TOO_LARGE"
    rooms = httpx.get(
        server.url + "/_matrix/client/v3/joined_rooms",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert rooms.json()["joined_rooms"] == []


@pytest.mark.parametrize(
    "target",
    [
        b"/_matrix/client/v3/rooms/%ff%fe/state",
        b"/_matrix/client/v3/rooms/%00/state",
        b"/_matrix/client/v3/rooms/\xff\xfe/state",
        b"/_matrix/client/v3/" + b"a" * 20_000,
        b"/_matrix/client/v3/joined_rooms?limit=%ZZ",
    ],
    ids=["invalid utf-8 escape", "NUL escape", "raw invalid utf-8", "20 kB path", "bad escape"],
)
def test_odd_request_targets_never_get_a_server_error_and_the_server_keeps_serving(
    server: ServerProcess, target: bytes
):
    token = registered_token(server)
    request = b"GET " + target + b" HTTP/1.1\r\n" + head("GET", "/", token).split(b"\r\n", 1)[1]
    status, payload = raw_request(server, request)
    assert status < 500, (status, payload[:300])
    if status >= 400 and payload.startswith(b"{"):
        assert json.loads(payload)["errcode"].startswith("M_")
    assert_still_serving(server)


def test_responses_name_sceau_in_one_server_header_not_the_framework(server: ServerProcess):
    response = httpx.get(server.url + "/_matrix/client/versions", timeout=10)
    servers = response.headers.get_list("server")
    assert len(servers) == 1, servers
    assert servers[0].startswith("Sceau/")
    missing = httpx.get(server.url + "/_matrix/client/v3/nowhere", timeout=10)
    assert missing.headers.get_list("server") == servers
