"""Building and signing PDUs, and auth event selection."""

from typing import Any

import pytest

from sceau.protocol.base64 import decode_base64
from sceau.protocol.events import (
    auth_event_types,
    build_pdu,
    hash_and_sign_event,
    redaction_target,
    room_id_for_create_event,
)
from sceau.protocol.hashing import check_content_hash, compute_event_id
from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from sceau.protocol.signing import SignatureError, generate_signing_key, verify_json_signature

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
ALL = [V10, V11, V12]

SPEC_KEY = generate_signing_key(decode_base64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"), "1")


# Appendix "Cryptographic Test Vectors" / "Event Signing". These events use the
# historical top-level keys (`origin`, `event_id`) that room version 10's
# redaction rules still protect, so v10 reproduces the published signatures.
def test_spec_vector_minimal_event_signing() -> None:
    event = {
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
    signed = hash_and_sign_event(event, origin="domain", signing_key=SPEC_KEY, room_version=V10)
    assert signed == {
        "auth_events": [],
        "content": {},
        "depth": 3,
        "hashes": {"sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},
        "origin": "domain",
        "origin_server_ts": 1000000,
        "prev_events": [],
        "room_id": "!x:domain",
        "sender": "@a:domain",
        "signatures": {
            "domain": {
                "ed25519:1": (
                    "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"
                )
            }
        },
        "type": "X",
        "unsigned": {"age_ts": 1000000},
    }


def test_spec_vector_redactable_event_signing() -> None:
    event = {
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
    signed = hash_and_sign_event(event, origin="domain", signing_key=SPEC_KEY, room_version=V10)
    assert signed == {
        **event,
        "hashes": {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"},
        "signatures": {
            "domain": {
                "ed25519:1": (
                    "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA"
                )
            }
        },
    }


def make(version: RoomVersion, **overrides: Any) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {
        "room_version": version,
        "room_id": "!room:example.org",
        "sender": "@alice:example.org",
        "event_type": "m.room.message",
        "content": {"body": "hello", "msgtype": "m.text"},
        "state_key": None,
        "prev_events": ["$prev"],
        "auth_events": ["$auth1", "$auth2"],
        "depth": 7,
        "origin_server_ts": 1_700_000_000_000,
        "redacts": None,
        "origin": "example.org",
        "signing_key": SPEC_KEY,
    }
    args.update(overrides)
    return build_pdu(**args)


@pytest.mark.parametrize("version", ALL)
def test_built_pdu_has_the_federation_fields(version: RoomVersion) -> None:
    event_id, pdu = make(version)
    assert set(pdu) == {
        "auth_events",
        "content",
        "depth",
        "hashes",
        "origin_server_ts",
        "prev_events",
        "room_id",
        "sender",
        "signatures",
        "type",
    }
    assert pdu["prev_events"] == ["$prev"]
    assert pdu["auth_events"] == ["$auth1", "$auth2"]
    assert pdu["depth"] == 7
    assert event_id == compute_event_id(pdu, version)


@pytest.mark.parametrize("version", ALL)
def test_built_pdu_hash_and_signature_verify(version: RoomVersion) -> None:
    _, pdu = make(version)
    assert check_content_hash(pdu)
    verify_json_signature(
        redact_event(pdu, version), "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes
    )


@pytest.mark.parametrize("version", ALL)
def test_signature_survives_redaction_but_not_tampering(version: RoomVersion) -> None:
    _, pdu = make(version)
    redacted = redact_event(pdu, version)
    verify_json_signature(redacted, "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes)
    assert not check_content_hash({**pdu, "content": {"body": "forged"}})
    forged = redact_event({**pdu, "depth": 8}, version)
    with pytest.raises(SignatureError):
        verify_json_signature(forged, "example.org", "ed25519:1", SPEC_KEY.verify_key_bytes)


def test_built_pdu_is_deterministic_and_does_not_alias_inputs() -> None:
    content = {"body": "x"}
    prev = ["$p"]
    first = make(V11, content=content, prev_events=prev)
    second = make(V11, content=content, prev_events=prev)
    assert first == second
    first[1]["content"]["body"] = "changed"
    first[1]["prev_events"].append("$q")
    assert content == {"body": "x"}
    assert prev == ["$p"]


def test_state_key_included_only_for_state_events() -> None:
    _, message = make(V11)
    _, state = make(V11, event_type="m.room.topic", content={"topic": "t"}, state_key="")
    assert "state_key" not in message
    assert state["state_key"] == ""


def test_v10_redaction_puts_redacts_at_top_level() -> None:
    _, pdu = make(V10, event_type="m.room.redaction", content={"reason": "spam"}, redacts="$bad")
    assert pdu["redacts"] == "$bad"
    assert pdu["content"] == {"reason": "spam"}
    assert redaction_target(pdu, V10) == "$bad"


@pytest.mark.parametrize("version", [V11, V12])
def test_v11_redaction_puts_redacts_in_content_only(version: RoomVersion) -> None:
    content = {"reason": "spam"}
    _, pdu = make(version, event_type="m.room.redaction", content=content, redacts="$bad")
    assert "redacts" not in pdu
    assert pdu["content"] == {"reason": "spam", "redacts": "$bad"}
    assert content == {"reason": "spam"}
    assert redaction_target(pdu, version) == "$bad"
    # The target survives redaction of the redaction itself.
    assert redaction_target(redact_event(pdu, version), version) == "$bad"


def test_redaction_target_is_none_for_other_events_or_malformed_values() -> None:
    _, message = make(V11)
    assert redaction_target(message, V11) is None
    assert redaction_target({"type": "m.room.redaction", "content": {"redacts": 3}}, V11) is None
    assert redaction_target({"type": "m.room.redaction", "content": "x"}, V11) is None
    assert redaction_target({"type": "m.room.redaction", "redacts": "$a"}, V11) is None


def test_v12_create_event_has_no_room_id_and_defines_it() -> None:
    event_id, pdu = make(
        V12,
        room_id=None,
        event_type="m.room.create",
        content={"room_version": "12"},
        state_key="",
        prev_events=[],
        auth_events=[],
        depth=1,
    )
    assert "room_id" not in pdu
    room_id = room_id_for_create_event(event_id)
    assert room_id == "!" + event_id[1:]
    assert len(room_id) == 44


def test_v12_create_event_refuses_a_room_id() -> None:
    with pytest.raises(ValueError):
        make(V12, event_type="m.room.create", content={}, state_key="")


@pytest.mark.parametrize("version", [V10, V11])
def test_older_create_events_need_a_room_id(version: RoomVersion) -> None:
    _, pdu = make(version, event_type="m.room.create", content={}, state_key="")
    assert pdu["room_id"] == "!room:example.org"
    with pytest.raises(ValueError):
        make(version, room_id=None, event_type="m.room.create", content={}, state_key="")


@pytest.mark.parametrize("version", ALL)
def test_non_create_events_need_a_room_id(version: RoomVersion) -> None:
    with pytest.raises(ValueError):
        make(version, room_id=None)


def test_room_id_for_create_event_rejects_non_event_ids() -> None:
    with pytest.raises(ValueError):
        room_id_for_create_event("!abc")
    with pytest.raises(ValueError):
        room_id_for_create_event("$")


def test_existing_signatures_are_kept_when_signing() -> None:
    other = generate_signing_key(bytes(32), "other")
    event = {"type": "X", "room_id": "!r:a", "sender": "@u:a", "content": {}, "depth": 1}
    once = hash_and_sign_event(event, origin="a", signing_key=other, room_version=V11)
    twice = hash_and_sign_event(once, origin="b", signing_key=SPEC_KEY, room_version=V11)
    assert set(twice["signatures"]) == {"a", "b"}
    for server, key in (("a", other), ("b", SPEC_KEY)):
        verify_json_signature(redact_event(twice, V11), server, key.key_id, key.verify_key_bytes)


# --- auth events selection -------------------------------------------------

ALICE = "@alice:example.org"
BOB = "@bob:example.org"


@pytest.mark.parametrize("version", ALL)
def test_create_event_has_no_auth_events(version: RoomVersion) -> None:
    assert auth_event_types("m.room.create", "", ALICE, {}, version) == []


@pytest.mark.parametrize("version", [V10, V11])
def test_message_selects_create_power_levels_and_sender_member(version: RoomVersion) -> None:
    assert auth_event_types("m.room.message", None, ALICE, {"body": "x"}, version) == [
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
    ]


def test_v12_never_selects_the_create_event() -> None:
    selected = auth_event_types("m.room.member", ALICE, ALICE, {"membership": "join"}, V12)
    assert ("m.room.create", "") not in selected
    assert selected == [
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
        ("m.room.join_rules", ""),
    ]


@pytest.mark.parametrize("membership", ["join", "invite", "knock"])
def test_join_invite_knock_select_join_rules(membership: str) -> None:
    selected = auth_event_types("m.room.member", BOB, ALICE, {"membership": membership}, V11)
    assert selected == [
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
        ("m.room.member", BOB),
        ("m.room.join_rules", ""),
    ]


@pytest.mark.parametrize("membership", ["leave", "ban"])
def test_leave_and_ban_select_target_but_not_join_rules(membership: str) -> None:
    selected = auth_event_types("m.room.member", BOB, ALICE, {"membership": membership}, V11)
    assert ("m.room.join_rules", "") not in selected
    assert ("m.room.member", BOB) in selected


def test_self_membership_lists_the_member_once() -> None:
    selected = auth_event_types("m.room.member", ALICE, ALICE, {"membership": "leave"}, V11)
    assert selected.count(("m.room.member", ALICE)) == 1


def test_third_party_invite_selects_token_event() -> None:
    content = {
        "membership": "invite",
        "third_party_invite": {"display_name": "x", "signed": {"mxid": BOB, "token": "tok"}},
    }
    selected = auth_event_types("m.room.member", BOB, ALICE, content, V11)
    assert selected[-1] == ("m.room.third_party_invite", "tok")


@pytest.mark.parametrize(
    "invite", [{}, {"signed": "x"}, {"signed": {"token": 4}}, "junk", {"signed": {}}]
)
def test_malformed_third_party_invite_selects_no_token_event(invite: object) -> None:
    content = {"membership": "invite", "third_party_invite": invite}
    selected = auth_event_types("m.room.member", BOB, ALICE, content, V11)
    assert all(kind != "m.room.third_party_invite" for kind, _ in selected)


def test_third_party_invite_ignored_for_non_invite_membership() -> None:
    content = {"membership": "join", "third_party_invite": {"signed": {"token": "tok"}}}
    selected = auth_event_types("m.room.member", ALICE, ALICE, content, V11)
    assert ("m.room.third_party_invite", "tok") not in selected


@pytest.mark.parametrize("version", ALL)
def test_restricted_join_selects_authorising_member(version: RoomVersion) -> None:
    content = {"membership": "join", "join_authorised_via_users_server": BOB}
    selected = auth_event_types("m.room.member", ALICE, ALICE, content, version)
    assert selected[-1] == ("m.room.member", BOB)


def test_authorising_member_ignored_unless_joining() -> None:
    content = {"membership": "invite", "join_authorised_via_users_server": "@carol:x"}
    selected = auth_event_types("m.room.member", BOB, ALICE, content, V11)
    assert ("m.room.member", "@carol:x") not in selected


def test_non_member_state_event_selects_only_the_basics() -> None:
    selected = auth_event_types("m.room.power_levels", "", ALICE, {"users": {}}, V11)
    assert selected == [
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
    ]
