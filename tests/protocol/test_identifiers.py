"""Identifier grammar from the spec appendix."""

import pytest

from sceau.protocol.identifiers import (
    InvalidIdentifier,
    is_compliant_user_id,
    is_valid_event_id,
    is_valid_legacy_event_id,
    is_valid_localpart_for_registration,
    is_valid_room_alias,
    is_valid_room_id,
    is_valid_server_name,
    is_valid_user_id,
    make_user_id,
    parse_room_alias,
    parse_room_id,
    parse_server_name,
    parse_user_id,
)
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS

HASH = "Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ"  # from the spec's pdu_v12 example

# --- server names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # The spec's examples of valid server names.
        ("matrix.org", ("matrix.org", None)),
        ("matrix.org:8888", ("matrix.org", 8888)),
        ("1.2.3.4", ("1.2.3.4", None)),
        ("1.2.3.4:1234", ("1.2.3.4", 1234)),
        ("[1234:5678::abcd]", ("[1234:5678::abcd]", None)),
        ("[1234:5678::abcd]:5678", ("[1234:5678::abcd]", 5678)),
        # Further valid forms.
        ("localhost", ("localhost", None)),
        ("MATRIX.ORG", ("MATRIX.ORG", None)),
        ("a-b.example:65535", ("a-b.example", 65535)),
        ("[::1]", ("[::1]", None)),
        ("[::ffff:1.2.3.4]:8448", ("[::ffff:1.2.3.4]", 8448)),
    ],
)
def test_valid_server_names_parse(name: str, expected: tuple[str, int | None]) -> None:
    assert parse_server_name(name) == expected
    assert is_valid_server_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ":8448",
        "matrix.org:",
        "matrix.org:123456",
        "matrix.org:65536",
        "matrix.org:port",
        "matrix.org:-1",
        "under_score.org",
        "spa ce.org",
        "exämple.org",
        "256.1.1.1",
        "1.2.3.999:80",
        "[1234:5678::abcd",
        "1234:5678::abcd",
        "[not:an:ipv6:zz]",
        "[1:2:3:4:5:6:7:8:9]",
        "[fe80::1%eth0]",
        "[]",
        "a" * 256,
        "matrix.org\n",
        "\u0661.\u0662.\u0663.\u0664",  # Arabic-Indic digits
    ],
)
def test_invalid_server_names_are_rejected(name: str) -> None:
    assert not is_valid_server_name(name)
    with pytest.raises(InvalidIdentifier):
        parse_server_name(name)


# --- user IDs -------------------------------------------------------------------


def test_parse_user_id_splits_on_first_colon() -> None:
    assert parse_user_id("@alice:example.org") == ("alice", "example.org")
    assert parse_user_id("@alice:example.org:8448") == ("alice", "example.org:8448")
    assert parse_user_id("@bob:[::1]:8448") == ("bob", "[::1]:8448")


@pytest.mark.parametrize(
    "user_id",
    ["@Alice:example.org", "@:example.org", "@ü ser!:example.org", "@a\x01b:example.org"],
)
def test_historical_user_ids_are_accepted_but_not_compliant(user_id: str) -> None:
    assert is_valid_user_id(user_id)
    assert not is_compliant_user_id(user_id)


def test_compliant_user_id() -> None:
    assert is_compliant_user_id("@a.b_c=d-e/f+g0:example.org")


@pytest.mark.parametrize(
    "user_id",
    [
        "alice:example.org",
        "@alice",
        "@alice:",
        "@alice:bad_host",
        "@a\x00b:example.org",
        "@a\ud800:example.org",
        "#alice:example.org",
        "",
    ],
)
def test_invalid_user_ids_are_rejected(user_id: str) -> None:
    assert not is_valid_user_id(user_id)
    with pytest.raises(InvalidIdentifier):
        parse_user_id(user_id)


def test_user_id_length_limit_is_255_bytes_inclusive() -> None:
    server = "example.org"
    fits = "@" + "a" * (255 - 1 - 1 - len(server)) + ":" + server
    assert len(fits.encode()) == 255
    assert is_valid_user_id(fits)
    assert not is_valid_user_id("@a" + fits[1:])


def test_user_id_length_limit_counts_utf8_bytes() -> None:
    fits = "@" + "é" * 120 + ":example.org"  # 253 bytes
    too_long = "@" + "é" * 125 + ":example.org"  # 138 characters but 263 bytes
    assert is_valid_user_id(fits)
    assert len(too_long) < 255
    assert not is_valid_user_id(too_long)


def test_invalid_identifier_is_a_value_error() -> None:
    assert issubclass(InvalidIdentifier, ValueError)


@pytest.mark.parametrize("localpart", ["alice", "a.b_c=d-e/f+g", "0", "bot_42"])
def test_registration_accepts_strict_localparts(localpart: str) -> None:
    assert is_valid_localpart_for_registration(localpart)


@pytest.mark.parametrize("localpart", ["", "Alice", "al ice", "a:b", "a@b", "é", "a*", "a\n"])
def test_registration_rejects_other_localparts(localpart: str) -> None:
    assert not is_valid_localpart_for_registration(localpart)


def test_make_user_id_validates_all_parts() -> None:
    assert make_user_id("alice", "example.org") == "@alice:example.org"
    with pytest.raises(InvalidIdentifier):
        make_user_id("Alice", "example.org")
    with pytest.raises(InvalidIdentifier):
        make_user_id("alice", "bad host")
    with pytest.raises(InvalidIdentifier):
        make_user_id("a" * 250, "example.org")


# --- room aliases -------------------------------------------------------------


def test_room_alias_parses_with_unicode_localpart() -> None:
    assert parse_room_alias("#café:example.org") == ("café", "example.org")
    assert is_valid_room_alias("#x:example.org:8448")


@pytest.mark.parametrize(
    "alias", ["#nodomain", "!a:example.org", "#a\x00:example.org", "#a:bad_host", "#" + "a" * 300]
)
def test_invalid_room_aliases_are_rejected(alias: str) -> None:
    assert not is_valid_room_alias(alias)


# --- room IDs --------------------------------------------------------------------


def test_domain_room_id_parses() -> None:
    assert parse_room_id("!abc:example.org") == ("abc", "example.org")


def test_hash_room_id_parses_without_domain() -> None:
    assert parse_room_id("!" + HASH) == (HASH, None)


@pytest.mark.parametrize(
    "room_id", ["abc:example.org", "!abc", "!" + HASH[:-1], "!" + HASH + "A", "!" + HASH[:-1] + "+"]
)
def test_invalid_room_ids_are_rejected(room_id: str) -> None:
    assert not is_valid_room_id(room_id)


def test_room_id_form_must_match_room_version() -> None:
    v11, v12 = KNOWN_ROOM_VERSIONS["11"], KNOWN_ROOM_VERSIONS["12"]
    assert is_valid_room_id("!abc:example.org", v11)
    assert not is_valid_room_id("!abc:example.org", v12)
    assert is_valid_room_id("!" + HASH, v12)
    assert not is_valid_room_id("!" + HASH, v11)


# --- event IDs -------------------------------------------------------------------


def test_hash_event_ids_are_valid() -> None:
    assert is_valid_event_id("$" + HASH)
    assert is_valid_event_id("$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg")


@pytest.mark.parametrize(
    "event_id", ["$abc:example.org", "$" + HASH[:-1], "!" + HASH, "$" + HASH[:-1] + "/", ""]
)
def test_non_hash_event_ids_are_not_valid_hash_ids(event_id: str) -> None:
    assert not is_valid_event_id(event_id)


def test_legacy_event_ids_are_accepted_for_old_references() -> None:
    assert is_valid_legacy_event_id("$abc:example.org")
    assert is_valid_legacy_event_id("$" + HASH)
    assert not is_valid_legacy_event_id("$abc")
    assert not is_valid_legacy_event_id("abc:example.org")


def test_event_ids_of_every_room_version_are_recognised() -> None:
    from sceau.protocol.identifiers import is_valid_event_id_any_version as valid

    assert valid("$abc:example.org")  # v1, v2
    assert valid("$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk")  # v3 (spec example)
    assert valid("$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg")  # v4+ (spec example)
    for bad in ("$abc", "abc:example.org", "$", "$" + "a" * 42, "$a/b", 5, "$:example.org x"):
        assert not valid(bad)  # type: ignore[arg-type]
