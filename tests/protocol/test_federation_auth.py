"""X-Matrix request signatures, server names and key responses (pure core)."""

import pytest

from sceau.protocol.federation import (
    check_server_keys,
    is_ip_literal,
    parse_server_name,
    parse_x_matrix,
    server_keys,
    sign_request,
    verify_request,
)
from sceau.protocol.signing import SignatureError, generate_signing_key, sign_json

KEY = generate_signing_key(b"\x07" * 32, "k1")
OTHER = generate_signing_key(b"\x08" * 32, "k2")


def _signed(content=None, destination="b.example:8448"):
    header = sign_request(
        "PUT", "/_matrix/federation/v1/send/1", "a.example", destination, content, KEY
    )
    return parse_x_matrix(header)


def test_signed_request_verifies_with_the_senders_key():
    auth = _signed({"pdus": []})
    assert auth.origin == "a.example"
    assert auth.destination == "b.example:8448"
    assert auth.key_id == "ed25519:k1"
    verify_request(
        auth,
        "PUT",
        "/_matrix/federation/v1/send/1",
        "b.example:8448",
        {"pdus": []},
        KEY.verify_key_bytes,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"method": "POST"},
        {"uri": "/_matrix/federation/v1/send/2"},
        {"destination": "c.example"},
        {"content": {"pdus": [1]}},
        {"key": OTHER.verify_key_bytes},
    ],
)
def test_any_change_to_a_signed_request_fails_verification(change):
    auth = _signed({"pdus": []})
    args = {
        "method": "PUT",
        "uri": "/_matrix/federation/v1/send/1",
        "destination": "b.example:8448",
        "content": {"pdus": []},
        "key": KEY.verify_key_bytes,
        **change,
    }
    with pytest.raises(SignatureError):
        verify_request(
            auth, args["method"], args["uri"], args["destination"], args["content"], args["key"]
        )


def test_request_without_body_is_signed_without_content():
    header = sign_request("GET", "/x?a=1", "a.example", "b.example", None, KEY)
    verify_request(parse_x_matrix(header), "GET", "/x?a=1", "b.example", None, KEY.verify_key_bytes)
    with pytest.raises(SignatureError):
        verify_request(
            parse_x_matrix(header), "GET", "/x?a=1", "b.example", {}, KEY.verify_key_bytes
        )


def test_header_parameters_may_be_unquoted_reordered_and_differently_cased():
    auth = parse_x_matrix('X-Matrix Key="ed25519:k1", sig=abc,ORIGIN=a.example:8448')
    assert (auth.origin, auth.key_id, auth.signature, auth.destination) == (
        "a.example:8448",
        "ed25519:k1",
        "abc",
        None,
    )


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "X-Matrix",
        'X-Matrix origin="a.example",key="ed25519:k1"',
        'X-Matrix origin="a.example",sig="x"',
        'X-Matrix origin="a example",key="ed25519:k1",sig="x"',
        'X-Matrix origin="a.example",key="rsa:k1",sig="x"',
        'X-Matrix origin="a.example",key="ed25519:k1",sig="x",,,=',
    ],
)
def test_malformed_headers_are_refused(header):
    with pytest.raises(ValueError):
        parse_x_matrix(header)


@pytest.mark.parametrize(
    ("name", "host", "port"),
    [
        ("example.org", "example.org", None),
        ("example.org:8448", "example.org", 8448),
        ("127.0.0.1:8481", "127.0.0.1", 8481),
        ("[::1]:8448", "[::1]", 8448),
        ("[2001:db8::1]", "[2001:db8::1]", None),
    ],
)
def test_server_names_split_into_host_and_port(name, host, port):
    parsed = parse_server_name(name)
    assert (parsed.host, parsed.port) == (host, port)


@pytest.mark.parametrize(
    "name", ["", "a b", "ex:ample:1", "example.org:0", "example.org:99999", "[::1", "::1", "host:"]
)
def test_invalid_server_names_are_refused(name):
    with pytest.raises(ValueError):
        parse_server_name(name)


def test_ip_literals_are_recognised():
    assert is_ip_literal("10.0.0.1") and is_ip_literal("[::1]")
    assert not is_ip_literal("example.org") and not is_ip_literal("::1")


def test_own_key_response_is_self_signed_and_checks():
    response = server_keys("a.example:8448", KEY, 2_000)
    keys = check_server_keys(response, "a.example:8448")
    assert [(k.key_id, k.key, k.valid_until_ts) for k in keys] == [
        ("ed25519:k1", KEY.verify_key_bytes, 2_000)
    ]


def test_key_response_with_old_keys_returns_them_with_their_expiry():
    response = server_keys(
        "a.example", KEY, 5_000, {"ed25519:old": (OTHER.verify_key_base64, 1_000)}
    )
    found = {k.key_id: k.valid_until_ts for k in check_server_keys(response, "a.example")}
    assert found == {"ed25519:k1": 5_000, "ed25519:old": 1_000}


def test_key_response_for_another_server_is_refused():
    with pytest.raises(ValueError, match="another server"):
        check_server_keys(server_keys("a.example", KEY, 1), "b.example")


def test_key_response_signed_by_another_key_is_refused():
    response = server_keys("a.example", KEY, 1)
    response["verify_keys"] = {"ed25519:k1": {"key": OTHER.verify_key_base64}}
    with pytest.raises(SignatureError):
        check_server_keys(response, "a.example")


def test_key_response_missing_its_own_signature_is_refused():
    body = {
        "server_name": "a.example",
        "valid_until_ts": 1,
        "verify_keys": {"ed25519:k1": {"key": KEY.verify_key_base64}},
    }
    with pytest.raises(SignatureError):
        check_server_keys(sign_json(body, "a.example", OTHER), "a.example")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("valid_until_ts"),
        lambda r: r.update(valid_until_ts="soon"),
        lambda r: r.update(valid_until_ts=True),
        lambda r: r.update(verify_keys={}),
        lambda r: r.update(verify_keys=[]),
        lambda r: r.update(verify_keys={"ed25519:k1": {"key": "!!"}}),
        lambda r: r.update(verify_keys={"ed25519:k1": {"key": "AAAA"}}),
        lambda r: r.update(verify_keys={"ed25519:k1": "x"}),
        lambda r: r.update(verify_keys={"curve25519:x": {"key": "AAAA"}}),
        lambda r: r.update(old_verify_keys=[]),
    ],
)
def test_malformed_key_responses_are_refused(mutate):
    response = server_keys("a.example", KEY, 1)
    mutate(response)
    with pytest.raises((ValueError, SignatureError)):
        check_server_keys(response, "a.example")


def test_non_object_key_response_is_refused():
    with pytest.raises(ValueError):
        check_server_keys(["x"], "a.example")
