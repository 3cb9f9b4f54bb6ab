"""Unpadded Base64, the binary-to-text encoding used throughout Matrix.

Matrix writes Base64 without ``=`` padding (appendix "Unpadded Base64") and
uses the URL-safe alphabet for event IDs. Decoding is deliberately
forgiving about padding and alphabet, as the spec asks, but strict about
anything that is not Base64 at all.
"""

import base64 as _stdlib_base64
import binascii
import re

_ALPHABET = re.compile(r"[A-Za-z0-9+/\-_]*")
_TO_STANDARD = str.maketrans("-_", "+/")


def encode_base64(data: bytes, urlsafe: bool = False) -> str:
    """Encode ``data`` as unpadded Base64 (URL-safe alphabet if asked)."""
    encoder = _stdlib_base64.urlsafe_b64encode if urlsafe else _stdlib_base64.b64encode
    return encoder(data).rstrip(b"=").decode("ascii")


def decode_base64(s: str) -> bytes:
    """Decode Base64 given with or without padding, in either alphabet.

    Raises ValueError for characters outside both alphabets, misplaced or
    excessive padding, and impossible lengths.
    """
    body = s.rstrip("=")
    padding = len(s) - len(body)
    if not _ALPHABET.fullmatch(body):
        raise ValueError("invalid character in base64 string")
    if len(body) % 4 == 1:
        raise ValueError("invalid base64 length")
    needed = -len(body) % 4
    if padding and padding != needed:
        raise ValueError("incorrect base64 padding")
    try:
        return _stdlib_base64.b64decode(body.translate(_TO_STANDARD) + "=" * needed, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64: {exc}") from exc
