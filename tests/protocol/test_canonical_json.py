"""Canonical JSON against the spec's appendix examples and its grammar."""

import json

import pytest

from sceau.protocol.canonical_json import (
    CanonicalJsonError,
    encode_canonical_json,
)

# (input JSON text as printed in the spec, expected canonical output)
SPEC_EXAMPLES = [
    ("{}", "{}"),
    ('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'),
    ('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
    (
        """{"auth": {"success": true, "mxid": "@john.doe:example.com",
            "profile": {"display_name": "John Doe", "three_pids": [
              {"medium": "email", "address": "john.doe@example.org"},
              {"medium": "msisdn", "address": "123456789"}]}}}""",
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":'
        '"John Doe","three_pids":[{"address":"john.doe@example.org","medium":'
        '"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{"a": "日本語"}', '{"a":"日本語"}'),
    ('{"本": 2, "日": 1}', '{"日":1,"本":2}'),
    ('{"a": "\\u65E5"}', '{"a":"日"}'),
    ('{"a": null}', '{"a":null}'),
    ('{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}'),
]


@pytest.mark.parametrize(("source", "expected"), SPEC_EXAMPLES)
def test_spec_appendix_examples_encode_exactly(source: str, expected: str) -> None:
    assert encode_canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_non_ascii_is_raw_utf8_not_escaped() -> None:
    assert encode_canonical_json("é\U0001f600") == '"é\U0001f600"'.encode()


def test_control_characters_use_short_or_lowercase_unicode_escapes() -> None:
    encoded = encode_canonical_json('\x00\x08\t\n\x0b\x0c\r\x1f\x7f"\\')
    assert encoded == b'"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\x7f\\"\\\\"'


def test_keys_sort_by_code_point_not_utf16() -> None:
    # U+FFFF sorts before U+1F600 by code point (UTF-16 order would differ).
    encoded = encode_canonical_json({"\U0001f600": 1, "\uffff": 2, "A": 0, "a": 3})
    assert encoded == '{"A":0,"a":3,"\uffff":2,"\U0001f600":1}'.encode()


def test_nested_lists_keep_order_and_sort_inner_objects() -> None:
    value = {"z": [3, {"y": 1, "x": [True, False, None]}], "a": []}
    assert encode_canonical_json(value) == b'{"a":[],"z":[3,{"x":[true,false,null],"y":1}]}'


def test_integer_bounds_are_inclusive() -> None:
    assert encode_canonical_json(2**53 - 1) == b"9007199254740991"
    assert encode_canonical_json(-(2**53) + 1) == b"-9007199254740991"


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**64])
def test_integers_outside_safe_range_are_rejected(value: int) -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"n": value})


@pytest.mark.parametrize("value", [1.5, float("nan"), float("inf"), -float("inf"), 2.0**60])
def test_non_integral_or_unsafe_floats_are_rejected(value: float) -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json([value])


def test_integral_floats_become_integers_and_negative_zero_vanishes() -> None:
    assert encode_canonical_json([-0.0, 3.0]) == b"[0,3]"


def test_error_is_a_value_error() -> None:
    assert issubclass(CanonicalJsonError, ValueError)


def test_non_string_keys_are_rejected() -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({1: "x"})


def test_unsupported_types_are_rejected() -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"a": b"bytes"})
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"a": {1, 2}})


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical_json({"a": "\ud800"})


def test_booleans_are_not_treated_as_integers() -> None:
    assert encode_canonical_json({"t": True, "f": False}) == b'{"f":false,"t":true}'


def test_tuples_encode_as_arrays() -> None:
    assert encode_canonical_json({"a": (1, "b")}) == b'{"a":[1,"b"]}'


def test_input_is_not_mutated() -> None:
    value = {"b": [1.0], "a": {"d": 1, "c": 2}}
    encode_canonical_json(value)
    assert value == {"b": [1.0], "a": {"d": 1, "c": 2}}
    assert list(value) == ["b", "a"]
