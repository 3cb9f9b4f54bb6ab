"""Server-server authentication as pure functions (spec: "Server-Server API").

Covers the ``X-Matrix`` Authorization header (signing a request's JSON and
reading the header back), server names with their optional port, and the
self-signed ``/_matrix/key/v2/server`` response. No I/O: the transport in
``sceau/services/federation`` does the network side.
"""

import ipaddress
import re
from dataclasses import dataclass

from sceau.protocol.base64 import decode_base64
from sceau.protocol.signing import (
    ALGORITHM,
    SignatureError,
    SigningKey,
    sign_json,
    verify_json_signature,
)
from sceau.protocol.types import JsonDict

_HOSTNAME = re.compile(r"[A-Za-z0-9\-.]{1,255}")
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')
_KEY_ID = re.compile(r"ed25519:[A-Za-z0-9_]+")


@dataclass(frozen=True)
class ServerName:
    """A server name split into host and optional explicit port."""

    host: str
    port: int | None

    @property
    def is_ip_literal(self) -> bool:
        return is_ip_literal(self.host)


def is_ip_literal(host: str) -> bool:
    """True for ``1.2.3.4`` and ``[::1]`` (IPv6 literals keep their brackets)."""
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return candidate != host or ":" not in host


def parse_server_name(name: str) -> ServerName:
    """Split ``host[:port]`` per the spec's server-name grammar; ValueError if invalid."""
    if not name or len(name) > 255:
        raise ValueError("server name must be 1 to 255 characters")
    if name.startswith("["):
        end = name.find("]")
        if end < 0:
            raise ValueError("unterminated IPv6 literal")
        host, rest = name[: end + 1], name[end + 1 :]
        if not is_ip_literal(host):
            raise ValueError("invalid IPv6 literal")
    else:
        host, sep, port_text = name.partition(":")
        rest = sep + port_text
        if not _HOSTNAME.fullmatch(host):
            raise ValueError("invalid host name")
    if not rest:
        return ServerName(host, None)
    if not rest.startswith(":") or not rest[1:].isdigit() or len(rest) > 6:
        raise ValueError("invalid port")
    port = int(rest[1:])
    if not 1 <= port <= 65535:
        raise ValueError("port out of range")
    return ServerName(host, port)


@dataclass(frozen=True)
class XMatrixAuth:
    """The parameters of one ``X-Matrix`` Authorization header."""

    origin: str
    destination: str | None
    key_id: str
    signature: str


def request_json(
    method: str, uri: str, origin: str, destination: str, content: object | None
) -> JsonDict:
    """The JSON object a request signature covers."""
    signed: JsonDict = {
        "method": method.upper(),
        "uri": uri,
        "origin": origin,
        "destination": destination,
    }
    if content is not None:
        signed["content"] = content
    return signed


def sign_request(
    method: str,
    uri: str,
    origin: str,
    destination: str,
    content: object | None,
    key: SigningKey,
) -> str:
    """The ``Authorization`` header value for a request from ``origin`` to ``destination``."""
    signed = sign_json(request_json(method, uri, origin, destination, content), origin, key)
    signature = signed["signatures"][origin][key.key_id]
    return (
        f'X-Matrix origin="{origin}",destination="{destination}",'
        f'key="{key.key_id}",sig="{signature}"'
    )


def parse_x_matrix(header: str) -> XMatrixAuth:
    """Read an ``X-Matrix`` header; ValueError when it is not one or lacks a part."""
    scheme, _, params_text = header.strip().partition(" ")
    if scheme.lower() != "x-matrix" or not params_text.strip():
        raise ValueError("not an X-Matrix authorization")
    params: dict[str, str] = {}
    position = 0
    text = params_text.strip()
    while position < len(text):
        match = _PARAM.match(text, position)
        if match is None or match.end() == position:
            raise ValueError("malformed X-Matrix parameters")
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[name] = value
        position = match.end()
    origin, key_id, signature = params.get("origin"), params.get("key"), params.get("sig")
    if not origin or not key_id or not signature:
        raise ValueError("X-Matrix needs origin, key and sig")
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError("unsupported key algorithm")
    parse_server_name(origin)
    return XMatrixAuth(origin, params.get("destination") or None, key_id, signature)


def verify_request(
    auth: XMatrixAuth,
    method: str,
    uri: str,
    destination: str,
    content: object | None,
    verify_key: bytes,
) -> None:
    """Check the header's signature over the request; SignatureError if it fails."""
    signed = request_json(method, uri, auth.origin, destination, content)
    signed["signatures"] = {auth.origin: {auth.key_id: auth.signature}}
    verify_json_signature(signed, auth.origin, auth.key_id, verify_key)


def server_keys(
    server_name: str,
    key: SigningKey,
    valid_until_ts: int,
    old_keys: dict[str, tuple[str, int]] | None = None,
) -> JsonDict:
    """The self-signed ``/_matrix/key/v2/server`` response for ``key``.

    ``old_keys`` maps retired key IDs to (base64 public key, expired_ts).
    """
    body: JsonDict = {
        "server_name": server_name,
        "valid_until_ts": valid_until_ts,
        "verify_keys": {key.key_id: {"key": key.verify_key_base64}},
        "old_verify_keys": {
            key_id: {"key": public, "expired_ts": expired}
            for key_id, (public, expired) in (old_keys or {}).items()
        },
    }
    return sign_json(body, server_name, key)


@dataclass(frozen=True)
class VerifyKey:
    """A remote server's public key and until when it may be used."""

    key_id: str
    key: bytes
    valid_until_ts: int


def check_server_keys(response: object, server_name: str) -> list[VerifyKey]:
    """Validate a key response for ``server_name``: shape, name and self-signatures.

    Every key in ``verify_keys`` must have signed the response. Old keys are
    returned with their ``expired_ts`` as validity. Raises ValueError (or
    SignatureError, a subclass of Exception) naming what is wrong.
    """
    if not isinstance(response, dict):
        raise ValueError("key response is not an object")
    if response.get("server_name") != server_name:
        raise ValueError("key response is for another server")
    valid_until = response.get("valid_until_ts")
    if not isinstance(valid_until, int) or isinstance(valid_until, bool):
        raise ValueError("valid_until_ts missing or not an integer")
    verify_keys = response.get("verify_keys")
    if not isinstance(verify_keys, dict) or not verify_keys:
        raise ValueError("verify_keys missing or empty")
    found: list[VerifyKey] = []
    for key_id, entry in verify_keys.items():
        public = _public_key(key_id, entry)
        if public is None:
            continue
        verify_json_signature(response, server_name, key_id, public)
        found.append(VerifyKey(key_id, public, valid_until))
    if not found:
        raise SignatureError("no usable ed25519 key in verify_keys")
    old = response.get("old_verify_keys") or {}
    if not isinstance(old, dict):
        raise ValueError("old_verify_keys is not an object")
    for key_id, entry in old.items():
        public = _public_key(key_id, entry)
        expired = entry.get("expired_ts") if isinstance(entry, dict) else None
        if public is not None and isinstance(expired, int) and not isinstance(expired, bool):
            found.append(VerifyKey(key_id, public, expired))
    return found


def _public_key(key_id: object, entry: object) -> bytes | None:
    """The 32-byte key of one ``verify_keys`` entry; None for other algorithms."""
    if not isinstance(key_id, str) or not key_id.startswith(ALGORITHM + ":"):
        return None
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"invalid key ID {key_id!r}")
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
        raise ValueError(f"key {key_id} has no 'key'")
    try:
        public = decode_base64(entry["key"])
    except ValueError as exc:
        raise ValueError(f"key {key_id} is not base64") from exc
    if len(public) != 32:
        raise ValueError(f"key {key_id} is not 32 bytes")
    return public
