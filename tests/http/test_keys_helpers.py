"""Helpers that play a client's crypto side: signed device keys, one-time keys, cross-signing.

No tests here; the ed25519 signing is real (PyNaCl through the protocol core),
the curve25519 keys are random bytes (the server never uses them).
"""

import secrets
from typing import Any

from sceau.protocol.base64 import encode_base64
from sceau.protocol.signing import SigningKey, generate_signing_key, sign_json


def curve_key() -> str:
    return encode_base64(secrets.token_bytes(32))


class ClientDevice:
    """One device of a user: its ed25519 identity key and what it uploads."""

    def __init__(self, user_id: str, device_id: str) -> None:
        self.user_id = user_id
        self.device_id = device_id
        # Device IDs may hold characters a key version may not: sign as "dev", rename.
        self.key = generate_signing_key(secrets.token_bytes(32), "dev")
        self.curve = curve_key()
        self._next_key = 0

    @property
    def ed25519(self) -> str:
        return self.key.verify_key_base64

    def device_keys(self, **extra: Any) -> dict[str, Any]:
        keys = {
            "user_id": self.user_id,
            "device_id": self.device_id,
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {
                f"curve25519:{self.device_id}": self.curve,
                f"ed25519:{self.device_id}": self.ed25519,
            },
            **extra,
        }
        return self.signed(keys)

    def signed(self, obj: dict[str, Any]) -> dict[str, Any]:
        signed = sign_json(obj, self.user_id, self.key)
        sigs = signed["signatures"][self.user_id]
        sigs[f"ed25519:{self.device_id}"] = sigs.pop(self.key.key_id)
        return signed

    def one_time_keys(self, count: int) -> dict[str, Any]:
        keys = {}
        for _ in range(count):
            self._next_key += 1
            key_id = f"signed_curve25519:AAAA{self._next_key:04d}"
            keys[key_id] = self.signed({"key": curve_key()})
        return keys

    def fallback_key(self) -> dict[str, Any]:
        self._next_key += 1
        return {
            f"signed_curve25519:FB{self._next_key:04d}": self.signed(
                {"key": curve_key(), "fallback": True}
            )
        }


class CrossSigning:
    """A user's master, self-signing and user-signing keys."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.master = _key("master")
        self.self_signing = _key("ssk")
        self.user_signing = _key("usk")

    def public(self, key: SigningKey) -> str:
        return key.verify_key_base64

    def key_object(self, key: SigningKey, usage: str) -> dict[str, Any]:
        public = self.public(key)
        return {"user_id": self.user_id, "usage": [usage], "keys": {f"ed25519:{public}": public}}

    def sign_as(self, obj: dict[str, Any], key: SigningKey) -> dict[str, Any]:
        """Sign ``obj`` with a cross-signing key (key ID ``ed25519:<public>``)."""
        renamed = SigningKey(version=_version(key), seed=key.seed)
        signed = sign_json(obj, self.user_id, renamed)
        sigs = signed["signatures"][self.user_id]
        sigs[f"ed25519:{self.public(key)}"] = sigs.pop(renamed.key_id)
        return signed

    def upload_body(self) -> dict[str, Any]:
        master = self.key_object(self.master, "master")
        return {
            "master_key": master,
            "self_signing_key": self.sign_as(
                self.key_object(self.self_signing, "self_signing"), self.master
            ),
            "user_signing_key": self.sign_as(
                self.key_object(self.user_signing, "user_signing"), self.master
            ),
        }


def _key(name: str) -> SigningKey:
    return generate_signing_key(secrets.token_bytes(32), name)


def _version(key: SigningKey) -> str:
    return key.version


async def upload_device(user: Any, otks: int = 0, fallback: bool = False) -> ClientDevice:
    """Upload signed device keys (and keys to claim) for ``user``'s token device."""
    device = ClientDevice(user.user_id, user.device_id)
    body: dict[str, Any] = {"device_keys": device.device_keys()}
    if otks:
        body["one_time_keys"] = device.one_time_keys(otks)
    if fallback:
        body["fallback_keys"] = device.fallback_key()
    await user.ok("POST", "/keys/upload", json=body)
    return device
