"""Checks on uploaded key objects: ownership, shape and ed25519 self-signatures."""

from typing import Any

from sceau.errors import MatrixError, bad_json, invalid_param
from sceau.protocol.base64 import decode_base64
from sceau.protocol.canonical_json import CanonicalJsonError, encode_canonical_json
from sceau.protocol.signing import SignatureError, verify_json_signature
from sceau.protocol.types import JsonDict


def invalid_signature(error: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_SIGNATURE", error)


def canonical(value: Any) -> bytes:
    """Canonical JSON of client input; values it cannot hold (floats...) are M_BAD_JSON."""
    try:
        return encode_canonical_json(value)
    except CanonicalJsonError as exc:
        raise bad_json(f"Not canonical JSON: {exc}") from None


def signable(obj: JsonDict) -> bytes:
    """What a signature covers: the object without ``signatures`` and ``unsigned``."""
    return canonical({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def ed25519_key(encoded: Any) -> bytes:
    """A 32-byte public key from unpadded Base64, or M_INVALID_PARAM."""
    if not isinstance(encoded, str):
        raise invalid_param("ed25519 keys must be strings")
    try:
        raw = decode_base64(encoded)
    except ValueError:
        raise invalid_param("ed25519 key is not valid base64") from None
    if len(raw) != 32:
        raise invalid_param("ed25519 key must be 32 bytes")
    return raw


def has_valid_signature(obj: JsonDict, signer: str, key_id: str, public_key: bytes) -> bool:
    try:
        verify_json_signature(obj, signer, key_id, public_key)
    except SignatureError:
        return False
    return True


def check_device_keys(keys: Any, user_id: str, device_id: str) -> bytes:
    """Validate uploaded device keys; return the device's ed25519 public key."""
    if not isinstance(keys, dict):
        raise bad_json("'device_keys' must be an object")
    if keys.get("user_id") != user_id or keys.get("device_id") != device_id:
        raise invalid_param("device_keys user_id and device_id must match the access token")
    algorithms = keys.get("algorithms")
    if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
        raise bad_json("'algorithms' must be a list of strings")
    key_map = keys.get("keys")
    if not isinstance(key_map, dict) or not all(isinstance(v, str) for v in key_map.values()):
        raise bad_json("'keys' must map key IDs to strings")
    key_id = f"ed25519:{device_id}"
    if key_id not in key_map:
        raise invalid_param(f"device_keys must include {key_id}")
    public_key = ed25519_key(key_map[key_id])
    if not has_valid_signature(keys, user_id, key_id, public_key):
        raise invalid_param("device_keys are not correctly self-signed by the device")
    return public_key


def check_signed_key(
    full_id: Any, key: Any, user_id: str, device_id: str, device_key: bytes | None
) -> tuple[str, str]:
    """Validate one one-time or fallback key; return ``(algorithm, key_id)``.

    Keys of the ``signed_`` algorithms must carry the device's signature.
    """
    if not isinstance(full_id, str) or ":" not in full_id:
        raise invalid_param("Key IDs must be '<algorithm>:<key_id>'")
    algorithm, _, key_id = full_id.partition(":")
    if not algorithm or not key_id:
        raise invalid_param("Key IDs must be '<algorithm>:<key_id>'")
    if isinstance(key, str):
        if algorithm.startswith("signed_"):
            raise invalid_param(f"{full_id} must be a signed key object")
        return algorithm, key_id
    if not isinstance(key, dict) or not isinstance(key.get("key"), str):
        raise bad_json(f"{full_id} must be a key object with a 'key'")
    if algorithm.startswith("signed_"):
        if device_key is None:
            raise invalid_param("Upload device keys before signed one-time keys")
        if not has_valid_signature(key, user_id, f"ed25519:{device_id}", device_key):
            raise invalid_param(f"{full_id} is not signed by the device")
    return algorithm, key_id


def check_cross_signing_key(key: Any, user_id: str, usage: str) -> tuple[str, bytes]:
    """Validate a cross-signing key; return ``(public key as base64, raw bytes)``."""
    if not isinstance(key, dict):
        raise bad_json(f"'{usage}_key' must be an object")
    if key.get("user_id") != user_id:
        raise invalid_param("Cross-signing keys must belong to the requester")
    usages = key.get("usage")
    if not isinstance(usages, list) or usage not in usages:
        raise invalid_param(f"The {usage} key must have usage '{usage}'")
    key_map = key.get("keys")
    if not isinstance(key_map, dict) or len(key_map) != 1:
        raise invalid_param("A cross-signing key must contain exactly one key")
    ((key_id, public),) = key_map.items()
    if not isinstance(key_id, str) or key_id != f"ed25519:{public}":
        raise invalid_param("A cross-signing key ID must be 'ed25519:<public key>'")
    return public, ed25519_key(public)
