"""Event IDs and event references in every room version (v1/v2 pairs, v3 and v4+ hashes)."""

import copy
from typing import Any

import pytest

from sceau.protocol.base64 import decode_base64
from sceau.protocol.event_format import (
    auth_event_ids,
    compute_event_id,
    event_id_server,
    event_references,
    is_server_event_id,
    prev_event_ids,
    sort_by_auth,
)
from sceau.protocol.events import (
    add_signature,
    build_pdu,
    complete_event_template,
    hash_and_sign_event,
)
from sceau.protocol.hashing import check_content_hash, compute_reference_hash
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from sceau.protocol.signing import SignatureError, generate_signing_key, verify_json_signature
from tests.protocol.test_hashing import REAL_CREATE_EVENT, REAL_CREATE_EVENT_ID

ALL = list(KNOWN_ROOM_VERSIONS.values())
V1, V2, V3, V4 = (KNOWN_ROOM_VERSIONS[str(n)] for n in range(1, 5))
SERVER_IDS = [V1, V2]
HASH_IDS = [v for v in ALL if not v.server_event_ids]
SPEC_KEY = generate_signing_key(decode_base64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"), "1")


def make(version: RoomVersion, **overrides: Any) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {
        "room_version": version,
        "room_id": "!room:example.org",
        "sender": "@alice:example.org",
        "event_type": "m.room.message",
        "content": {"body": "hello", "msgtype": "m.text"},
        "state_key": None,
        "prev_events": ["$prev:example.org"],
        "auth_events": ["$a1:example.org", "$a2:example.org"],
        "depth": 7,
        "origin_server_ts": 1_700_000_000_000,
        "redacts": None,
        "origin": "example.org",
        "signing_key": SPEC_KEY,
    }
    args.update(overrides)
    return build_pdu(**args)


# --- v1/v2: server-chosen IDs carried in the PDU ----------------------------------


@pytest.mark.parametrize("version", SERVER_IDS)
def test_v1_v2_pdu_carries_a_server_event_id_and_paired_references(version: RoomVersion) -> None:
    event_id, pdu = make(version)
    assert pdu["event_id"] == event_id
    assert is_server_event_id(event_id)
    assert event_id_server(event_id) == "example.org"
    assert pdu["prev_events"] == [["$prev:example.org", {}]]
    assert pdu["auth_events"] == [["$a1:example.org", {}], ["$a2:example.org", {}]]
    assert compute_event_id(pdu, version) == event_id
    assert prev_event_ids(pdu, version) == ["$prev:example.org"]
    assert auth_event_ids(pdu, version) == ["$a1:example.org", "$a2:example.org"]
    assert auth_event_ids(pdu) == ["$a1:example.org", "$a2:example.org"]


@pytest.mark.parametrize("version", SERVER_IDS)
def test_v1_v2_signature_and_content_hash_cover_the_event_id(version: RoomVersion) -> None:
    _, pdu = make(version)
    assert check_content_hash(pdu)
    verify_json_signature(
        redact_event(pdu, version), "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes
    )
    renamed = {**pdu, "event_id": "$other:example.org"}
    assert not check_content_hash(renamed)
    with pytest.raises(SignatureError):
        verify_json_signature(
            redact_event(renamed, version), "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes
        )


@pytest.mark.parametrize("version", SERVER_IDS)
def test_v1_v2_event_ids_differ_between_events_and_repeat_for_the_same_event(
    version: RoomVersion,
) -> None:
    first, _ = make(version)
    again, _ = make(version)
    other, _ = make(version, depth=8)
    assert first == again
    assert first != other


@pytest.mark.parametrize("version", SERVER_IDS)
@pytest.mark.parametrize(
    "bad", [None, 5, "", "$", "$nodomain", "plain:example.org", "$:x", "$a:bad domain"]
)
def test_v1_v2_pdu_without_a_well_formed_event_id_has_no_id(
    version: RoomVersion, bad: object
) -> None:
    _, pdu = make(version)
    pdu["event_id"] = bad
    with pytest.raises(ValueError):
        compute_event_id(pdu, version)


# --- v3+: reference hashes ---------------------------------------------------------


def _event_with_slash_or_plus() -> dict[str, Any]:
    for depth in range(1, 200):
        _, pdu = make(V3, depth=depth)
        event_id = compute_event_id(pdu, V3)
        if "/" in event_id or "+" in event_id:
            return pdu
    raise AssertionError("no event ID with '/' or '+' in 200 tries")


def test_v3_event_id_is_standard_base64_and_v4_url_safe_of_the_same_hash() -> None:
    pdu = _event_with_slash_or_plus()
    v3_id = compute_event_id(pdu, V3)
    v4_id = compute_event_id(pdu, V4)
    assert "event_id" not in pdu
    assert v3_id.startswith("$") and len(v3_id) == 44 and ":" not in v3_id
    assert "-" not in v3_id and "_" not in v3_id
    assert v4_id == v3_id.replace("+", "-").replace("/", "_")
    assert decode_base64(v3_id[1:]) == compute_reference_hash(pdu, V3)


@pytest.mark.parametrize("version", HASH_IDS)
def test_hash_versions_use_plain_id_references_and_no_event_id_key(version: RoomVersion) -> None:
    event_id, pdu = make(version)
    assert "event_id" not in pdu
    assert pdu["prev_events"] == ["$prev:example.org"]
    assert auth_event_ids(pdu, version) == ["$a1:example.org", "$a2:example.org"]
    assert auth_event_ids(pdu) == ["$a1:example.org", "$a2:example.org"]
    assert prev_event_ids(pdu) == ["$prev:example.org"]
    assert event_id == compute_event_id(pdu, version)
    assert event_id_server(event_id) is None


@pytest.mark.parametrize("identifier", ["4", "5", "6", "7", "8", "9", "10"])
def test_real_v5_create_event_has_the_same_id_under_v4_to_v10_rules(identifier: str) -> None:
    assert compute_event_id(REAL_CREATE_EVENT, KNOWN_ROOM_VERSIONS[identifier]) == (
        REAL_CREATE_EVENT_ID
    )


def test_real_v5_create_event_id_in_v3_form_is_standard_base64() -> None:
    expected = "$" + REAL_CREATE_EVENT_ID[1:].replace("-", "+").replace("_", "/")
    assert compute_event_id(REAL_CREATE_EVENT, V3) == expected


# --- reference helpers ---------------------------------------------------------------


def test_references_ignore_malformed_entries() -> None:
    pdu = {
        "auth_events": [["$a:x", {}], ["$b:x"], 7, [5, {}], ["$c:x", {"sha256": "h"}]],
        "prev_events": "not a list",
    }
    assert auth_event_ids(pdu, V1) == ["$a:x", "$c:x"]
    assert auth_event_ids({"auth_events": ["$plain", ["$pair", {}]]}) == ["$plain", "$pair"]
    assert prev_event_ids(pdu, V1) == []
    assert auth_event_ids({"auth_events": ["$a", 3, None]}, V4) == ["$a"]


@pytest.mark.parametrize("version", ALL)
def test_event_references_round_trip(version: RoomVersion) -> None:
    ids = ["$one:x", "$two:x"]
    pdu = {"auth_events": event_references(ids, version)}
    assert auth_event_ids(pdu, version) == ids


# --- the appendix's signing vectors hold in every version that keeps `origin` ---------

APPENDIX_MESSAGE = {
    "content": {"body": "Here is the message content"},
    "event_id": "$0:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {},
    "unsigned": {"age_ts": 1000000},
}


@pytest.mark.parametrize("version", [v for v in ALL if not v.updated_redaction_rules])
def test_appendix_redactable_event_vector(version: RoomVersion) -> None:
    signed = hash_and_sign_event(
        copy.deepcopy(APPENDIX_MESSAGE), origin="domain", signing_key=SPEC_KEY, room_version=version
    )
    assert signed["hashes"] == {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"}
    assert signed["signatures"] == {
        "domain": {
            "ed25519:1": (
                "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA"
            )
        }
    }
    assert compute_event_id(signed, KNOWN_ROOM_VERSIONS["1"]) == "$0:domain"


# --- templates from make_join / make_leave / make_knock, and countersigning ------------

OTHER_KEY = generate_signing_key(b"\x05" * 32, "o")


def _template(version: RoomVersion, paired: bool) -> dict[str, Any]:
    refs = (lambda ids: [[i, {}] for i in ids]) if paired else list
    return {
        "type": "m.room.member",
        "room_id": "!room:resident.org",
        "sender": "@joiner:example.org",
        "state_key": "@joiner:example.org",
        "content": {"membership": "join"},
        "origin": "resident.org",
        "origin_server_ts": 1_700_000_000_000,
        "depth": 12,
        "prev_events": refs(["$p:resident.org"]),
        "auth_events": refs(["$c:resident.org", "$pl:resident.org"]),
    }


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
@pytest.mark.parametrize("paired", [True, False])
def test_a_template_becomes_a_signed_event_in_the_version_form(
    version: RoomVersion, paired: bool
) -> None:
    event_id, pdu = complete_event_template(
        _template(version, paired), origin="example.org", signing_key=SPEC_KEY, room_version=version
    )
    assert event_id == compute_event_id(pdu, version)
    assert check_content_hash(pdu)
    verify_json_signature(
        redact_event(pdu, version), "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes
    )
    assert prev_event_ids(pdu) == ["$p:resident.org"]
    assert auth_event_ids(pdu) == ["$c:resident.org", "$pl:resident.org"]
    if version.server_event_ids:
        assert event_id_server(event_id) == "example.org"
        assert pdu["prev_events"] == [["$p:resident.org", {}]]
    else:
        assert "event_id" not in pdu
        assert pdu["prev_events"] == ["$p:resident.org"]


def test_a_template_keeps_reference_hashes_already_in_v1_form() -> None:
    template = _template(V1, True)
    template["prev_events"] = [["$p:resident.org", {"sha256": "abc"}]]
    _, pdu = complete_event_template(
        template, origin="example.org", signing_key=SPEC_KEY, room_version=V1
    )
    assert pdu["prev_events"] == [["$p:resident.org", {"sha256": "abc"}]]


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_countersigning_keeps_the_hash_and_the_first_signature(version: RoomVersion) -> None:
    event_id, pdu = make(version)
    both = add_signature(pdu, origin="other.org", signing_key=OTHER_KEY, room_version=version)
    assert both["hashes"] == pdu["hashes"]
    assert compute_event_id(both, version) == event_id
    redacted = redact_event(both, version)
    verify_json_signature(redacted, "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes)
    verify_json_signature(redacted, "other.org", "ed25519:o", OTHER_KEY.verify_key_bytes)


@pytest.mark.parametrize("version", ALL, ids=lambda v: f"v{v.identifier}")
def test_built_pdu_holds_integral_floats_as_the_integers_it_was_signed_over(
    version: RoomVersion,
) -> None:
    import orjson

    from sceau.protocol.canonical_json import CanonicalJsonError

    content = {"body": "x", "n": 1.0, "nested": {"big": 1e10, "list": [2.0, -0.0]}}
    _, pdu = make(version, content=content)
    assert pdu["content"] == {"body": "x", "n": 1, "nested": {"big": 10**10, "list": [2, 0]}}
    assert b"1.0" not in orjson.dumps(pdu)
    assert content["n"] == 1.0 and isinstance(content["n"], float)  # input untouched
    received = orjson.loads(orjson.dumps(pdu))
    assert check_content_hash(received, version)
    with pytest.raises(CanonicalJsonError):
        make(version, content={"n": 1.5})


def _ev(depth: int, *auth: str) -> dict:
    return {"depth": depth, "auth_events": list(auth)}


def test_sort_by_auth_puts_each_event_after_the_auth_events_it_cites() -> None:
    # Handed newest first, and with a misleading depth on $b.
    events = {"$c": _ev(3, "$a", "$b"), "$b": _ev(1, "$a"), "$a": _ev(2), "$x": _ev(0, "$gone")}
    order = sort_by_auth(events)
    assert sorted(order) == sorted(events)
    assert order.index("$a") < order.index("$b") < order.index("$c")
    assert order[0] == "$x"  # cites nothing in the set: by depth first


def test_sort_by_auth_breaks_a_forged_cycle_instead_of_looping() -> None:
    events = {"$a": _ev(1, "$b"), "$b": _ev(2, "$a"), "$c": _ev(5, "$b")}
    order = sort_by_auth(events)
    assert order == ["$a", "$b", "$c"]
