"""Canonical JSON, the byte form that Matrix signs and hashes.

The spec (appendix "Canonical JSON") defines it as the shortest UTF-8
encoding with object keys sorted by code point, no insignificant
whitespace, and numbers restricted to integers in the IEEE-754 safe range.
Two servers must produce identical bytes for the same value, otherwise
signatures and event IDs disagree, so values that cannot be encoded
unambiguously are refused instead of being approximated.
"""

import json
import math
from typing import Any

import orjson

MIN_SAFE_INTEGER = -(2**53) + 1
MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalJsonError(ValueError):
    """The value cannot be represented as canonical JSON."""


def encode_canonical_json(value: object, *, strict: bool = True) -> bytes:
    """Encode ``value`` as canonical JSON bytes.

    Integral floats (``1e10``, ``-0.0``) are written as integers, as the
    spec's own examples require; any other float, NaN, infinity, an
    out-of-range integer, a non-string key or a lone surrogate raises
    :class:`CanonicalJsonError`.

    ``strict=False`` is for events of room versions 1 to 5, which do not
    enforce canonical JSON: floats and integers of any size are written the
    way the servers that made those rooms hash and sign them (Python's
    ``repr`` for floats, e.g. ``1.0``, ``50.57``, ``1e+100``).
    """
    if not strict:
        return _encode_lenient(value)
    normalised = _normalise(value)
    try:
        return orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise CanonicalJsonError(str(exc)) from exc


def canonical_copy(value: object) -> Any:
    """A copy of ``value`` holding exactly what its canonical JSON says.

    Integral floats become integers, so that an event stored and sent as
    built has the bytes its hashes and signatures were computed over (a
    PDU carrying ``1.0`` but signed over ``1`` fails everywhere else).
    Raises :class:`CanonicalJsonError` like :func:`encode_canonical_json`.
    """
    return _normalise(value)


def _encode_lenient(value: object) -> bytes:
    try:
        text = json.dumps(
            value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=True
        )
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise CanonicalJsonError(str(exc)) from exc


def _normalise(value: object) -> Any:
    """Check ``value`` recursively and return a copy ready for the encoder."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return _check_int(value)
    if isinstance(value, float):
        return _float_to_int(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(f"object key {key!r} is not a string")
            out[key] = _normalise(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    raise CanonicalJsonError(f"cannot encode {type(value).__name__} as JSON")


def _check_int(value: int) -> int:
    if not MIN_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise CanonicalJsonError(f"integer {value} is outside the safe range")
    return int(value)


def _float_to_int(value: float) -> int:
    if not math.isfinite(value) or not value.is_integer():
        raise CanonicalJsonError(f"float {value!r} is not allowed in canonical JSON")
    return _check_int(int(value))
