"""Checking the ``signed`` block of a third-party invite against its invite event's keys.

A member event that redeems a third-party invite carries ``signed`` (mxid,
token, signatures) from the identity server; the ``m.room.third_party_invite``
event it redeems lists the identity server's public keys. The invite is
genuine when any signature in ``signed`` verifies under any of those keys.
Everything needed is in the two JSON objects, so this is a pure function.
"""

from typing import Any

import nacl.exceptions
import nacl.signing

from sceau.protocol.base64 import decode_base64
from sceau.protocol.canonical_json import encode_canonical_json
from sceau.protocol.types import JsonDict


def _public_keys(invite_content: JsonDict) -> list[bytes]:
    encoded: list[Any] = [invite_content.get("public_key")]
    listed = invite_content.get("public_keys")
    if isinstance(listed, list):
        encoded += [k.get("public_key") for k in listed if isinstance(k, dict)]
    keys: list[bytes] = []
    for value in encoded:
        if not isinstance(value, str):
            continue
        try:
            key = decode_base64(value)
        except ValueError:
            continue
        if len(key) == 32:
            keys.append(key)
    return keys


def verify_third_party_invite(signed: JsonDict, invite_content: JsonDict) -> bool:
    """Whether ``signed`` carries a signature by one of the invite event's public keys."""
    signatures = signed.get("signatures")
    if not isinstance(signatures, dict):
        return False
    unsigned = {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
    try:
        message = encode_canonical_json(unsigned)
    except (TypeError, ValueError):
        return False
    for by_server in signatures.values():
        if not isinstance(by_server, dict):
            continue
        for signature in by_server.values():
            if not isinstance(signature, str):
                continue
            try:
                raw = decode_base64(signature)
            except ValueError:
                continue
            for key in _public_keys(invite_content):
                try:
                    nacl.signing.VerifyKey(key).verify(message, raw)
                    return True
                except (nacl.exceptions.CryptoError, ValueError, TypeError):
                    continue
    return False
