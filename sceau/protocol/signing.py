"""Ed25519 signing keys and signed JSON (appendix "Signing JSON").

Randomness is injected: callers pass the 32-byte seed, so tests are
deterministic and the core performs no I/O.
"""

import re
from dataclasses import dataclass, field
from functools import cached_property

import nacl.exceptions
import nacl.signing

from sceau.protocol.base64 import decode_base64, encode_base64
from sceau.protocol.canonical_json import encode_canonical_json
from sceau.protocol.types import JsonDict

ALGORITHM = "ed25519"
SEED_LENGTH = 32
_VERSION_RE = re.compile(r"[A-Za-z0-9_]+")


class SignatureError(Exception):
    """A required signature is missing, malformed or does not verify."""


@dataclass(frozen=True)
class SigningKey:
    """A server's ed25519 signing key: its version and private seed."""

    version: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _VERSION_RE.fullmatch(self.version):
            raise ValueError(f"invalid signing key version {self.version!r}")
        if len(self.seed) != SEED_LENGTH:
            raise ValueError("an ed25519 seed must be exactly 32 bytes")

    @cached_property
    def _nacl_key(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.seed)

    @property
    def key_id(self) -> str:
        """The signing key identifier, e.g. ``ed25519:a_AbCd``."""
        return f"{ALGORITHM}:{self.version}"

    @property
    def verify_key_bytes(self) -> bytes:
        """The 32-byte public key that verifies this key's signatures."""
        return bytes(self._nacl_key.verify_key)

    @property
    def verify_key_base64(self) -> str:
        """The public key as unpadded Base64, as published in server keys."""
        return encode_base64(self.verify_key_bytes)

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte detached signature of ``data``."""
        return bytes(self._nacl_key.sign(data).signature)


def generate_signing_key(seed: bytes, version: str) -> SigningKey:
    """Build a signing key from 32 caller-supplied random bytes."""
    return SigningKey(version=version, seed=bytes(seed))


def encode_signing_key_file(key: SigningKey) -> str:
    """Serialise ``key`` in the one-line ``ed25519 <version> <seed>`` format."""
    return f"{ALGORITHM} {key.version} {encode_base64(key.seed)}\n"


def decode_signing_key_file(text: str) -> SigningKey:
    """Read the first key from a signing key file; ValueError if malformed."""
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or parts[0] != ALGORITHM:
            raise ValueError("signing key line must be 'ed25519 <version> <base64 seed>'")
        return SigningKey(version=parts[1], seed=decode_base64(parts[2]))
    raise ValueError("signing key file contains no key")


def _signable_bytes(obj: JsonDict, strict: bool = True) -> bytes:
    """Canonical JSON of ``obj`` without the parts signatures never cover."""
    return encode_canonical_json(
        {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}, strict=strict
    )


def sign_json(obj: JsonDict, signer: str, key: SigningKey) -> JsonDict:
    """Return a copy of ``obj`` carrying ``signer``'s signature by ``key``.

    Signatures already present (from ``signer`` or others) are kept; the
    input is not modified.
    """
    signature = encode_base64(key.sign(_signable_bytes(obj)))
    existing = obj.get("signatures") or {}
    signatures = {name: dict(sigs) for name, sigs in existing.items()}
    signatures.setdefault(signer, {})[key.key_id] = signature
    signed = dict(obj)
    signed["signatures"] = signatures
    return signed


def verify_json_signature(
    obj: JsonDict, signer: str, key_id: str, verify_key: bytes, *, strict: bool = True
) -> None:
    """Check that ``obj`` carries a valid signature by ``signer`` under ``key_id``.

    Raises SignatureError when the signature is absent, is not Base64, or
    does not verify against ``verify_key``. ``strict=False`` encodes the
    way events of room versions 1 to 5 were signed (floats allowed).
    """
    signatures = obj.get("signatures")
    if not isinstance(signatures, dict):
        raise SignatureError("object has no signatures")
    by_signer = signatures.get(signer)
    if not isinstance(by_signer, dict) or key_id not in by_signer:
        raise SignatureError(f"missing signature for {signer} {key_id}")
    encoded = by_signer[key_id]
    if not isinstance(encoded, str):
        raise SignatureError(f"signature for {signer} {key_id} is not a string")
    try:
        signature = decode_base64(encoded)
        nacl.signing.VerifyKey(verify_key).verify(_signable_bytes(obj, strict), signature)
    except (ValueError, TypeError, nacl.exceptions.CryptoError) as exc:
        raise SignatureError(f"invalid signature for {signer} {key_id}") from exc
