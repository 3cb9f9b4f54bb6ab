"""Format checks on received PDUs, per room version (first check on receipt)."""

import copy
from typing import Any

import pytest

from sceau.protocol.pdu import (
    MAX_PDU_BYTES,
    PduFormatError,
    parse_pdu,
    required_signers,
    verify_event_signature,
)
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from sceau.protocol.signing import SignatureError
from tests.protocol.test_event_format import SPEC_KEY
from tests.protocol.test_event_format import make as make_any_room

HASH_ROOM_ID = "!" + "A" * 43


def room_id_for(version: RoomVersion) -> str:
    return HASH_ROOM_ID if version.room_id_from_create_event else "!room:example.org"


def make(version: RoomVersion, **overrides: Any) -> tuple[str, dict[str, Any]]:
    """A PDU whose room ID has the form its room version uses."""
    return make_any_room(version, **{"room_id": room_id_for(version), **overrides})


ALL = list(KNOWN_ROOM_VERSIONS.values())
V1, V4, V8, V12 = (KNOWN_ROOM_VERSIONS[n] for n in ("1", "4", "8", "12"))
VERSIONS = pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")


@VERSIONS
def test_a_built_pdu_parses_with_its_id_room_and_references(version: RoomVersion) -> None:
    event_id, pdu = make(version)
    parsed = parse_pdu(pdu, version)
    assert parsed.event_id == event_id
    assert parsed.room_id == room_id_for(version)
    assert parsed.prev_event_ids == ("$prev:example.org",)
    assert parsed.auth_event_ids == ("$a1:example.org", "$a2:example.org")
    assert parsed.pdu is pdu


def test_v12_create_event_room_id_comes_from_its_event_id() -> None:
    event_id, pdu = make(
        V12,
        room_id=None,
        event_type="m.room.create",
        state_key="",
        content={"room_version": "12"},
        prev_events=[],
        auth_events=[],
    )
    assert parse_pdu(pdu, V12).room_id == "!" + event_id[1:]
    with pytest.raises(PduFormatError):
        parse_pdu({**pdu, "room_id": "!x:example.org"}, V12)


def _broken(pdu: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    broken = copy.deepcopy(pdu)
    target = broken
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


DELETE = object()
BAD_FIELDS = [
    (("type",), DELETE),
    (("type",), 5),
    (("type",), "t" * 256),
    (("state_key",), 1),
    (("state_key",), "k" * 256),
    (("sender",), "not-a-user"),
    (("sender",), DELETE),
    (("content",), []),
    (("content",), DELETE),
    (("origin_server_ts",), "1"),
    (("origin_server_ts",), True),
    (("depth",), -1),
    (("depth",), "7"),
    (("depth",), DELETE),
    (("hashes",), DELETE),
    (("hashes", "sha256"), 3),
    (("signatures",), []),
    (("signatures", "example.org"), "sig"),
    (("unsigned",), "x"),
    (("redacts",), 5),
    (("prev_events",), DELETE),
    (("auth_events",), {"a": 1}),
    (("room_id",), DELETE),
    (("room_id",), "room-without-sigil"),
]


@VERSIONS
@pytest.mark.parametrize(
    "path,value", BAD_FIELDS, ids=lambda x: "deleted" if x is DELETE else repr(x)
)
def test_malformed_fields_are_rejected(
    version: RoomVersion, path: tuple[str, ...], value: object
) -> None:
    _, pdu = make(version)
    with pytest.raises(PduFormatError):
        parse_pdu(_broken(pdu, path, value), version)


@pytest.mark.parametrize("value", [None, "pdu", [1]])
def test_non_objects_are_rejected(value: object) -> None:
    with pytest.raises(PduFormatError):
        parse_pdu(value, V4)


@VERSIONS
def test_more_than_65536_bytes_is_rejected(version: RoomVersion) -> None:
    _, pdu = make(version)
    pdu["content"]["body"] = "x" * MAX_PDU_BYTES
    with pytest.raises(PduFormatError, match="bytes"):
        parse_pdu(pdu, version)


@VERSIONS
def test_too_many_prev_or_auth_events_are_rejected(version: RoomVersion) -> None:
    _, many_prev = make(version, prev_events=[f"$p{n}:x.org" for n in range(21)])
    _, many_auth = make(version, auth_events=[f"$a{n}:x.org" for n in range(11)])
    _, at_limit = make(
        version,
        prev_events=[f"$p{n}:x.org" for n in range(20)],
        auth_events=[f"$a{n}:x.org" for n in range(10)],
    )
    for pdu in (many_prev, many_auth):
        with pytest.raises(PduFormatError, match="more than"):
            parse_pdu(pdu, version)
    parse_pdu(at_limit, version)


def test_reference_format_must_match_the_room_version() -> None:
    _, v1_pdu = make(V1)
    _, v4_pdu = make(V4)
    with pytest.raises(PduFormatError, match="pairs"):
        parse_pdu({**v1_pdu, "prev_events": ["$prev:example.org"]}, V1)
    with pytest.raises(PduFormatError, match="event IDs"):
        parse_pdu({**v4_pdu, "prev_events": [["$prev:example.org", {}]]}, V4)


@pytest.mark.parametrize(
    "event_id", [None, 5, "$nodomain", "no-sigil:x.org", "$" + "a" * 260 + ":x"]
)
def test_v1_pdus_need_a_server_event_id(event_id: object) -> None:
    _, pdu = make(V1)
    with pytest.raises(PduFormatError):
        parse_pdu({**pdu, "event_id": event_id}, V1)


def test_floats_are_not_canonical_json() -> None:
    _, pdu = make(V8)
    pdu["content"]["n"] = 1.5
    with pytest.raises(PduFormatError, match="canonical"):
        parse_pdu(pdu, V8)


@pytest.mark.parametrize(
    "version,content,expected",
    [
        (V1, {"membership": "join"}, {"b.org", "example.org"}),
        (V4, {"membership": "join"}, {"b.org"}),
        (V4, {"membership": "join", "join_authorised_via_users_server": "@c:c.org"}, {"b.org"}),
        (
            V8,
            {"membership": "join", "join_authorised_via_users_server": "@c:c.org"},
            {"b.org", "c.org"},
        ),
        (V8, {"membership": "leave", "join_authorised_via_users_server": "@c:c.org"}, {"b.org"}),
    ],
)
def test_required_signers(
    version: RoomVersion, content: dict[str, Any], expected: set[str]
) -> None:
    pdu = {"sender": "@bob:b.org", "event_id": "$e:example.org", "content": content}
    assert required_signers(pdu, version) == expected


@VERSIONS
def test_event_signature_verifies_over_the_redacted_event(version: RoomVersion) -> None:
    _, pdu = make(version)
    key = SPEC_KEY.verify_key_bytes
    verify_event_signature(pdu, version, "example.org", "ed25519:1", key)
    verify_event_signature({**pdu, "content": {}}, version, "example.org", "ed25519:1", key)
    with pytest.raises(SignatureError):
        verify_event_signature({**pdu, "depth": 99}, version, "example.org", "ed25519:1", key)
    if version.server_event_ids:
        with pytest.raises(SignatureError):
            verify_event_signature(
                {**pdu, "event_id": "$forged:example.org"}, version, "example.org", "ed25519:1", key
            )


@VERSIONS
def test_key_validity_is_enforced_from_v5(version: RoomVersion) -> None:
    from sceau.protocol.pdu import minimum_key_validity

    _, pdu = make(version)
    expected = pdu["origin_server_ts"] if int(version.identifier) >= 5 else 0
    assert minimum_key_validity(pdu, version) == expected
