"""Unpadded Base64 against the spec's appendix examples."""

import pytest

from sceau.protocol.base64 import decode_base64, encode_base64

SPEC_EXAMPLES = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("raw", "encoded"), SPEC_EXAMPLES)
def test_spec_examples_encode_without_padding(raw: bytes, encoded: str) -> None:
    assert encode_base64(raw) == encoded


@pytest.mark.parametrize(("raw", "encoded"), SPEC_EXAMPLES)
def test_spec_examples_decode_unpadded_and_padded(raw: bytes, encoded: str) -> None:
    assert decode_base64(encoded) == raw
    assert decode_base64(encoded + "=" * (-len(encoded) % 4)) == raw


def test_urlsafe_alphabet_uses_minus_and_underscore() -> None:
    data = bytes([0xFB, 0xFF, 0xBF])
    assert encode_base64(data) == "+/+/"
    assert encode_base64(data, urlsafe=True) == "-_-_"


def test_decoding_accepts_either_alphabet() -> None:
    data = bytes([0xFB, 0xFF, 0xBF, 0xFE])
    assert decode_base64("+/+//g") == data
    assert decode_base64("-_-__g") == data
    assert decode_base64("-_-__g==") == data


def test_round_trip_of_all_lengths() -> None:
    data = bytes(range(256))
    for size in range(40):
        chunk = data[size : size * 2 + 1]
        assert decode_base64(encode_base64(chunk)) == chunk
        assert decode_base64(encode_base64(chunk, urlsafe=True)) == chunk


@pytest.mark.parametrize(
    "garbage",
    [
        "Zm9v!",
        "Zm 9v",
        "Zm9v\n",
        "Z",
        "Zm9vY",
        "Zg=",
        "Zg===",
        "Zm9v=",
        "Z=g",
        "é",
        "Zg=="[:1] + "=",
    ],
)
def test_garbage_raises_value_error(garbage: str) -> None:
    with pytest.raises(ValueError):
        decode_base64(garbage)
