"""Ed25519 keys and signed JSON against the spec's cryptographic test vectors."""

import pytest

from sceau.protocol.base64 import decode_base64, encode_base64
from sceau.protocol.signing import (
    SignatureError,
    SigningKey,
    decode_signing_key_file,
    encode_signing_key_file,
    generate_signing_key,
    sign_json,
    verify_json_signature,
)

# Appendix "Cryptographic Test Vectors".
SPEC_SEED = decode_base64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
SPEC_KEY = generate_signing_key(SPEC_SEED, "1")
EMPTY_SIG = "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
DATA_SIG = "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"


def test_spec_key_has_expected_id() -> None:
    assert SPEC_KEY.key_id == "ed25519:1"
    assert len(SPEC_KEY.verify_key_bytes) == 32
    assert decode_base64(SPEC_KEY.verify_key_base64) == SPEC_KEY.verify_key_bytes


def test_spec_vector_signing_empty_object() -> None:
    assert sign_json({}, "domain", SPEC_KEY) == {"signatures": {"domain": {"ed25519:1": EMPTY_SIG}}}


def test_spec_vector_signing_object_with_data() -> None:
    assert sign_json({"one": 1, "two": "Two"}, "domain", SPEC_KEY) == {
        "one": 1,
        "signatures": {"domain": {"ed25519:1": DATA_SIG}},
        "two": "Two",
    }


def test_signature_ignores_unsigned_and_existing_signatures() -> None:
    plain = sign_json({"one": 1, "two": "Two"}, "domain", SPEC_KEY)
    decorated = sign_json(
        {
            "one": 1,
            "two": "Two",
            "unsigned": {"age": 5},
            "signatures": {"other": {"ed25519:x": "abc"}},
        },
        "domain",
        SPEC_KEY,
    )
    assert decorated["signatures"]["domain"] == plain["signatures"]["domain"]
    assert decorated["signatures"]["other"] == {"ed25519:x": "abc"}
    assert decorated["unsigned"] == {"age": 5}


def test_sign_json_does_not_mutate_input() -> None:
    original = {"a": 1, "signatures": {"domain": {"ed25519:0": "old"}}}
    signed = sign_json(original, "domain", SPEC_KEY)
    assert original == {"a": 1, "signatures": {"domain": {"ed25519:0": "old"}}}
    assert signed["signatures"]["domain"]["ed25519:0"] == "old"
    assert "ed25519:1" in signed["signatures"]["domain"]


def test_verify_accepts_own_signature_even_with_unsigned_added_later() -> None:
    signed = sign_json({"x": "y"}, "domain", SPEC_KEY)
    signed["unsigned"] = {"age": 10}
    verify_json_signature(signed, "domain", "ed25519:1", SPEC_KEY.verify_key_bytes)


def test_verify_rejects_tampered_object() -> None:
    signed = sign_json({"x": "y"}, "domain", SPEC_KEY)
    signed["x"] = "z"
    with pytest.raises(SignatureError):
        verify_json_signature(signed, "domain", "ed25519:1", SPEC_KEY.verify_key_bytes)


def test_verify_rejects_wrong_key() -> None:
    other = generate_signing_key(bytes(32), "2")
    signed = sign_json({"x": "y"}, "domain", SPEC_KEY)
    with pytest.raises(SignatureError):
        verify_json_signature(signed, "domain", "ed25519:1", other.verify_key_bytes)


@pytest.mark.parametrize(
    "obj",
    [
        {"x": 1},
        {"x": 1, "signatures": {}},
        {"x": 1, "signatures": {"other": {"ed25519:1": "AAAA"}}},
        {"x": 1, "signatures": {"domain": {"ed25519:2": "AAAA"}}},
        {"x": 1, "signatures": {"domain": {"ed25519:1": "not base64!"}}},
        {"x": 1, "signatures": {"domain": {"ed25519:1": 12}}},
        {"x": 1, "signatures": {"domain": "oops"}},
    ],
)
def test_verify_rejects_missing_or_malformed_signatures(obj: dict[str, object]) -> None:
    with pytest.raises(SignatureError):
        verify_json_signature(obj, "domain", "ed25519:1", SPEC_KEY.verify_key_bytes)


def test_verify_rejects_malformed_verify_key() -> None:
    signed = sign_json({"x": "y"}, "domain", SPEC_KEY)
    with pytest.raises(SignatureError):
        verify_json_signature(signed, "domain", "ed25519:1", b"short")


def test_sign_produces_detached_64_byte_signature() -> None:
    sig = SPEC_KEY.sign(b"hello")
    assert len(sig) == 64
    assert sig == SPEC_KEY.sign(b"hello")


def test_key_file_round_trip() -> None:
    key = generate_signing_key(bytes(range(32)), "a_AbCd")
    text = encode_signing_key_file(key)
    assert text == f"ed25519 a_AbCd {encode_base64(bytes(range(32)))}\n"
    assert decode_signing_key_file(text) == key


def test_key_file_reads_synapse_style_line_with_blank_lines() -> None:
    text = "\n  ed25519 a_abcd YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1  \n"
    key = decode_signing_key_file(text)
    assert key.version == "a_abcd"
    assert key.seed == SPEC_SEED


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ed25519 1",
        "rsa 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1",
        "ed25519 1 short",
        "ed25519 bad-version YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1",
    ],
)
def test_key_file_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError):
        decode_signing_key_file(text)


def test_signing_key_rejects_bad_seed_or_version() -> None:
    with pytest.raises(ValueError):
        SigningKey(version="1", seed=b"x" * 31)
    with pytest.raises(ValueError):
        SigningKey(version="", seed=bytes(32))
    with pytest.raises(ValueError):
        SigningKey(version="a:b", seed=bytes(32))


def test_repr_does_not_leak_the_seed() -> None:
    assert encode_base64(SPEC_SEED) not in repr(SPEC_KEY)
    assert repr(SPEC_SEED) not in repr(SPEC_KEY)
