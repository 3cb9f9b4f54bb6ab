"""A minimal TURN client over UDP (RFC 5766/8656, long-term credentials), for the relay tests.

Just enough to prove what a browser's ICE agent needs from the relay: an
allocation made with the credentials Sceau hands out, a permission for a
peer, and data relayed both ways. Errors come back as the STUN error code
(401 for bad credentials, 403 for a peer the server refuses to reach).
"""

import hashlib
import hmac
import os
import socket
import struct
from dataclasses import dataclass, field

MAGIC = 0x2112A442
BINDING, ALLOCATE, CREATE_PERMISSION = 0x0001, 0x0003, 0x0008
SEND_INDICATION, DATA_INDICATION = 0x0016, 0x0017
SUCCESS, ERROR = 0x0100, 0x0110
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE = 0x0006, 0x0008, 0x0009
XOR_PEER_ADDRESS, DATA, REALM, NONCE = 0x0012, 0x0013, 0x0014, 0x0015
XOR_RELAYED_ADDRESS, REQUESTED_TRANSPORT = 0x0016, 0x0019
UDP_TRANSPORT = bytes([17, 0, 0, 0])


class TurnError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"TURN error {code}: {reason}")
        self.code = code


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\x00" * (-len(value) % 4)


def xor_address(host: str, port: int) -> bytes:
    address = struct.unpack("!I", socket.inet_aton(host))[0] ^ MAGIC
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), address)


def _parse_xor_address(value: bytes) -> tuple[str, int]:
    _, family, port, address = struct.unpack("!BBHI", value[:8])
    assert family == 1, "IPv4 only"
    return socket.inet_ntoa(struct.pack("!I", address ^ MAGIC)), port ^ (MAGIC >> 16)


def encode(kind: int, attributes: list[tuple[int, bytes]], key: bytes | None = None) -> bytes:
    """A STUN message; with ``key``, signed by MESSAGE-INTEGRITY (HMAC-SHA1)."""
    transaction = os.urandom(12)
    body = b"".join(_attribute(k, v) for k, v in attributes)
    if key is None:
        return struct.pack("!HHI", kind, len(body), MAGIC) + transaction + body
    # The length covers the integrity attribute (24 bytes) before it is computed.
    header = struct.pack("!HHI", kind, len(body) + 24, MAGIC) + transaction
    mac = hmac.new(key, header + body, hashlib.sha1).digest()
    return header + body + _attribute(MESSAGE_INTEGRITY, mac)


def decode(message: bytes) -> tuple[int, dict[int, bytes]]:
    kind, length, _ = struct.unpack("!HHI", message[:8])
    attributes: dict[int, bytes] = {}
    offset = 20
    while offset < 20 + length:
        attr, size = struct.unpack("!HH", message[offset : offset + 4])
        attributes.setdefault(attr, message[offset + 4 : offset + 4 + size])
        offset += 4 + size + (-size % 4)
    return kind, attributes


def _raise_error(attributes: dict[int, bytes]) -> None:
    value = attributes.get(ERROR_CODE, b"\x00\x00\x00\x00")
    raise TurnError(value[2] * 100 + value[3], value[4:].decode(errors="replace"))


@dataclass
class TurnClient:
    """One UDP allocation on ``server`` for ``username``/``password``."""

    server: tuple[str, int]
    username: str
    password: str
    timeout_s: float = 5.0
    sock: socket.socket = field(init=False)
    realm: bytes = b""
    nonce: bytes = b""
    relayed: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(self.timeout_s)

    def close(self) -> None:
        self.sock.close()

    def _key(self) -> bytes:
        credentials = f"{self.username}:{self.realm.decode()}:{self.password}"
        return hashlib.md5(credentials.encode()).digest()

    def _exchange(self, message: bytes) -> tuple[int, dict[int, bytes]]:
        self.sock.sendto(message, self.server)
        while True:
            data, _ = self.sock.recvfrom(65536)
            kind, attributes = decode(data)
            if kind != DATA_INDICATION:
                return kind, attributes

    def _signed(self, kind: int, attributes: list[tuple[int, bytes]]) -> dict[int, bytes]:
        auth = [(USERNAME, self.username.encode()), (REALM, self.realm), (NONCE, self.nonce)]
        answer, found = self._exchange(encode(kind, [*attributes, *auth], self._key()))
        if answer == kind | ERROR:
            _raise_error(found)
        assert answer == kind | SUCCESS, hex(answer)
        return found

    def allocate(self) -> tuple[str, int]:
        """Allocate a UDP relay: the first, unsigned try brings the realm and nonce."""
        transport = [(REQUESTED_TRANSPORT, UDP_TRANSPORT)]
        answer, found = self._exchange(encode(ALLOCATE, transport))
        if answer == ALLOCATE | SUCCESS:
            raise AssertionError("the TURN server allocated a relay without credentials")
        self.realm, self.nonce = found.get(REALM, b""), found.get(NONCE, b"")
        if not self.nonce:
            _raise_error(found)
        self.relayed = _parse_xor_address(self._signed(ALLOCATE, transport)[XOR_RELAYED_ADDRESS])
        return self.relayed

    def permit(self, peer_host: str) -> None:
        """CreatePermission for ``peer_host``; TurnError(403) when the server refuses the peer."""
        self._signed(CREATE_PERMISSION, [(XOR_PEER_ADDRESS, xor_address(peer_host, 0))])

    def send(self, peer: tuple[str, int], data: bytes) -> None:
        attributes = [(XOR_PEER_ADDRESS, xor_address(*peer)), (DATA, data)]
        self.sock.sendto(encode(SEND_INDICATION, attributes), self.server)

    def receive(self) -> tuple[tuple[str, int], bytes]:
        """The next Data indication: who sent it to the relay, and what."""
        while True:
            data, _ = self.sock.recvfrom(65536)
            kind, attributes = decode(data)
            if kind == DATA_INDICATION:
                return _parse_xor_address(attributes[XOR_PEER_ADDRESS]), attributes[DATA]


def stun_binding_answers(server: tuple[str, int], timeout_s: float = 0.5) -> bool:
    """Whether a STUN server answers a Binding request (readiness probe)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.sendto(encode(BINDING, []), server)
            data, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return decode(data)[0] == BINDING | SUCCESS
