"""Content hashes, reference hashes and event IDs."""

import copy

import pytest

from sceau.protocol.base64 import decode_base64
from sceau.protocol.hashing import (
    add_content_hash,
    check_content_hash,
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
)
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]

# Appendix "Cryptographic Test Vectors" / "Event Signing": the two input events.
SPEC_MINIMAL_EVENT = {
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "signatures": {},
    "hashes": {},
    "type": "X",
    "content": {},
    "prev_events": [],
    "auth_events": [],
    "depth": 3,
    "unsigned": {"age_ts": 1000000},
}
SPEC_MESSAGE_EVENT = {
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

# A real room-version-5 create event from the public federation (jki.re), whose
# event ID is known; gomatrixserverlib's tests use the same event. Its redacted
# form is identical under the v10 rules (create keeps only `creator`).
REAL_CREATE_EVENT = {
    "auth_events": [],
    "prev_events": [],
    "type": "m.room.create",
    "room_id": "!uXDCzlYgCTHtiWCkEx:jki.re",
    "sender": "@erikj:jki.re",
    "content": {
        "room_version": "5",
        "predecessor": {
            "room_id": "!gdRMqOrTFdOCYHNwOo:half-shot.uk",
            "event_id": "$LP7ROBc4b+cMc1UE9haIz8q5AK2AIW4eJ90FfKLvyZI",
        },
        "creator": "@erikj:jki.re",
    },
    "depth": 1,
    "prev_state": [],
    "state_key": "",
    "origin": "jki.re",
    "origin_server_ts": 1560284621137,
    "hashes": {"sha256": "IX6zuNiJpJPNf70BLleL3HSCpjKeq9Uhu7uUpyDjBmc"},
    "signatures": {
        "jki.re": {
            "ed25519:auto": (
                "O4IyFfF2PPtGp5uaDm8t57dZbdh8vc8Q64LgCwvzYRVItAMI0uisfiAFaxkVT7MRpzh6N2QNN5NMRXZKmgPYDA"
            )
        }
    },
    "unsigned": {"age": 1321650},
}
REAL_CREATE_EVENT_ID = "$RrGxF28UrHLmoASHndYb9Jb_1SFww2ptmtur9INS438"


def test_spec_minimal_event_content_hash() -> None:
    assert compute_content_hash(SPEC_MINIMAL_EVENT) == "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"


def test_spec_message_event_content_hash() -> None:
    assert compute_content_hash(SPEC_MESSAGE_EVENT) == "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"


def test_content_hash_ignores_unsigned_signatures_and_hashes() -> None:
    decorated = {
        **SPEC_MINIMAL_EVENT,
        "unsigned": {"age": 99},
        "signatures": {"x": {"ed25519:1": "s"}},
        "hashes": {"sha256": "whatever"},
    }
    assert compute_content_hash(decorated) == compute_content_hash(SPEC_MINIMAL_EVENT)


def test_content_hash_covers_redactable_content() -> None:
    changed = copy.deepcopy(SPEC_MESSAGE_EVENT)
    changed["content"]["body"] = "edited"  # type: ignore[index]
    assert compute_content_hash(changed) != compute_content_hash(SPEC_MESSAGE_EVENT)


def test_add_content_hash_returns_new_dict_and_keeps_other_algorithms() -> None:
    event = {**SPEC_MINIMAL_EVENT, "hashes": {"sha512": "x"}}
    hashed = add_content_hash(event)
    assert hashed["hashes"] == {
        "sha512": "x",
        "sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos",
    }
    assert event["hashes"] == {"sha512": "x"}
    assert check_content_hash(hashed)


def test_real_event_content_hash_checks_out() -> None:
    assert check_content_hash(REAL_CREATE_EVENT)


def test_check_content_hash_accepts_padded_encoding() -> None:
    event = add_content_hash(SPEC_MINIMAL_EVENT)
    event["hashes"]["sha256"] += "="
    assert check_content_hash(event)


@pytest.mark.parametrize(
    "hashes",
    [None, {}, {"sha256": 5}, {"sha256": "!!!"}, {"sha256": "AAAA"}, "sha256"],
)
def test_check_content_hash_rejects_missing_or_wrong_hash(hashes: object) -> None:
    event = dict(SPEC_MINIMAL_EVENT)
    if hashes is None:
        del event["hashes"]
    else:
        event["hashes"] = hashes
    assert not check_content_hash(event)


def test_check_content_hash_detects_tampering() -> None:
    event = add_content_hash(SPEC_MESSAGE_EVENT)
    event["content"] = {"body": "forged"}
    assert not check_content_hash(event)


def test_real_event_id_matches_federation() -> None:
    assert compute_event_id(REAL_CREATE_EVENT, V10) == REAL_CREATE_EVENT_ID


def test_reference_hash_is_32_bytes_and_matches_event_id() -> None:
    digest = compute_reference_hash(REAL_CREATE_EVENT, V10)
    assert len(digest) == 32
    assert decode_base64(REAL_CREATE_EVENT_ID[1:]) == digest


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_event_id_survives_redaction_of_content(version: RoomVersion) -> None:
    event = add_content_hash({**SPEC_MINIMAL_EVENT, "content": {"body": "secret"}})
    stripped = {**event, "content": {}}
    assert compute_event_id(event, version) == compute_event_id(stripped, version)


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_event_id_changes_with_content_hash(version: RoomVersion) -> None:
    one = add_content_hash({**SPEC_MINIMAL_EVENT, "content": {"body": "a"}})
    two = add_content_hash({**SPEC_MINIMAL_EVENT, "content": {"body": "b"}})
    assert compute_event_id(one, version) != compute_event_id(two, version)


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_event_id_ignores_signatures_and_unsigned(version: RoomVersion) -> None:
    event = add_content_hash(SPEC_MINIMAL_EVENT)
    decorated = {**event, "signatures": {"d": {"ed25519:1": "x"}}, "unsigned": {"age": 4}}
    assert compute_event_id(event, version) == compute_event_id(decorated, version)


def test_v11_event_id_differs_from_v10_because_origin_is_no_longer_protected() -> None:
    event = add_content_hash(SPEC_MINIMAL_EVENT)
    without_origin = {k: v for k, v in event.items() if k != "origin"}
    assert compute_event_id(event, V11) == compute_event_id(without_origin, V11)
    assert compute_event_id(event, V10) != compute_event_id(without_origin, V10)


def test_event_id_is_urlsafe_and_unpadded() -> None:
    for depth in range(1, 60):
        event_id = compute_event_id({**SPEC_MINIMAL_EVENT, "depth": depth}, V11)
        assert event_id.startswith("$")
        assert len(event_id) == 44
        assert not set(event_id) & set("+/=")
