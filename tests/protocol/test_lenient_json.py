"""Room versions 1 to 5 do not enforce canonical JSON: floats and big integers
in their events are hashed and signed the way Synapse (canonicaljson 2.0) encodes
them, and only from v6 is such an event refused."""

import copy

import pytest

from sceau.protocol.base64 import encode_base64
from sceau.protocol.canonical_json import CanonicalJsonError, encode_canonical_json
from sceau.protocol.event_format import compute_event_id
from sceau.protocol.hashing import check_content_hash, compute_content_hash
from sceau.protocol.pdu import PduFormatError, parse_pdu, verify_event_signature
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from sceau.protocol.signing import SignatureError
from tests.protocol.test_event_format import SPEC_KEY, make

LENIENT = [KNOWN_ROOM_VERSIONS[str(n)] for n in range(1, 6)]
STRICT = [KNOWN_ROOM_VERSIONS[str(n)] for n in range(6, 12)]
ODD_VALUES = {"a": 1.0, "b": 50.57, "c": 2**60, "d": 1e100, "e": -0.0, "f": 1e-7}


def test_lenient_encoding_matches_canonicaljson_2() -> None:
    # canonicaljson 2.0.0's encode_canonical_json gives exactly these bytes.
    expected = b'{"a":1.0,"b":50.57,"c":1152921504606846976,"d":1e+100,"e":-0.0,"f":1e-07}'
    assert encode_canonical_json(ODD_VALUES, strict=False) == expected


def test_lenient_encoding_equals_strict_on_canonical_values() -> None:
    value = {"z": [1, "é", None, True], "a": {"\u2028": '\x01\n"\\'}, "m": -(2**53) + 1}
    assert encode_canonical_json(value, strict=False) == encode_canonical_json(value)


def test_strict_encoding_still_refuses_floats_and_big_integers() -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"b": 50.57})
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"c": 2**60})
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"n": float("nan")}, strict=False)


def _odd_pdu(version: RoomVersion) -> dict[str, object]:
    """A received PDU whose content holds values canonical JSON forbids, signed by its origin."""
    _, pdu = make(version)
    pdu = copy.deepcopy(pdu)
    pdu["content"] = {"msgtype": "m.text", "body": "x", "odd": ODD_VALUES}
    pdu["hashes"] = {"sha256": compute_content_hash(pdu, version)}
    redacted = redact_event(pdu, version)
    signable = {k: v for k, v in redacted.items() if k not in ("signatures", "unsigned")}
    signature = SPEC_KEY.sign(encode_canonical_json(signable, strict=False))
    pdu["signatures"] = {"example.org": {"ed25519:1": encode_base64(signature)}}
    return pdu


@pytest.mark.parametrize("version", LENIENT, ids=lambda v: f"v{v.identifier}")
def test_v1_to_v5_events_with_floats_parse_hash_and_verify(version: RoomVersion) -> None:
    pdu = _odd_pdu(version)
    parsed = parse_pdu(pdu, version)
    assert parsed.event_id == compute_event_id(pdu, version)
    assert check_content_hash(pdu, version)
    assert not check_content_hash(pdu)  # a strict check cannot encode it
    verify_event_signature(pdu, version, "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes)
    with pytest.raises(SignatureError):
        verify_event_signature(
            {**pdu, "depth": 1}, version, "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes
        )


@pytest.mark.parametrize("version", STRICT, ids=lambda v: f"v{v.identifier}")
def test_from_v6_events_with_floats_are_refused(version: RoomVersion) -> None:
    _, pdu = make(version)
    pdu["content"]["odd"] = 50.57
    with pytest.raises(PduFormatError, match="canonical"):
        parse_pdu(pdu, version)
    assert not check_content_hash(pdu, version)
