"""The redaction algorithm, rule by rule, for room versions 10, 11 and 12."""

import pytest

from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
UPDATED = [V11, V12]


def base_event(event_type: str, content: dict[str, object], **extra: object) -> dict[str, object]:
    event: dict[str, object] = {
        "type": event_type,
        "room_id": "!r:example.org",
        "sender": "@a:example.org",
        "content": content,
        "hashes": {"sha256": "abc"},
        "signatures": {"example.org": {"ed25519:1": "sig"}},
        "depth": 4,
        "prev_events": ["$p"],
        "auth_events": ["$a"],
        "origin_server_ts": 1234,
        "origin": "example.org",
        "membership": "join",
        "prev_state": [],
        "unsigned": {"age": 1},
        "event_id": "$e",
        "custom": "dropped",
        "redacts": "$target",
    }
    event.update(extra)
    return event


COMMON_TOP_LEVEL = {
    "type",
    "room_id",
    "sender",
    "content",
    "hashes",
    "signatures",
    "depth",
    "prev_events",
    "auth_events",
    "origin_server_ts",
    "event_id",
}


def test_v10_keeps_origin_membership_and_prev_state_at_top_level() -> None:
    redacted = redact_event(base_event("m.room.message", {"body": "hi"}), V10)
    assert set(redacted) == COMMON_TOP_LEVEL | {"origin", "membership", "prev_state"}
    assert redacted["content"] == {}


@pytest.mark.parametrize("version", UPDATED)
def test_v11_drops_origin_membership_prev_state_and_unknown_keys(version: RoomVersion) -> None:
    redacted = redact_event(base_event("m.room.message", {"body": "hi"}), version)
    assert set(redacted) == COMMON_TOP_LEVEL
    assert redacted["content"] == {}


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_state_key_is_kept_and_unsigned_dropped(version: RoomVersion) -> None:
    redacted = redact_event(base_event("m.room.topic", {"topic": "t"}, state_key=""), version)
    assert redacted["state_key"] == ""
    assert "unsigned" not in redacted
    assert redacted["content"] == {}


def test_v10_create_keeps_only_creator() -> None:
    content = {"creator": "@a:example.org", "room_version": "10", "m.federate": False}
    redacted = redact_event(base_event("m.room.create", content, state_key=""), V10)
    assert redacted["content"] == {"creator": "@a:example.org"}


@pytest.mark.parametrize("version", UPDATED)
def test_v11_create_keeps_whole_content(version: RoomVersion) -> None:
    content = {"room_version": "11", "m.federate": False, "predecessor": {"room_id": "!o"}}
    redacted = redact_event(base_event("m.room.create", content, state_key=""), version)
    assert redacted["content"] == content


POWER_LEVELS = {
    "ban": 50,
    "events": {"m.room.name": 100},
    "events_default": 0,
    "invite": 50,
    "kick": 50,
    "notifications": {"room": 20},
    "redact": 50,
    "state_default": 50,
    "users": {"@a:example.org": 100},
    "users_default": 0,
}


def test_v10_power_levels_drop_invite_and_notifications() -> None:
    redacted = redact_event(base_event("m.room.power_levels", POWER_LEVELS, state_key=""), V10)
    expected = {k: v for k, v in POWER_LEVELS.items() if k not in ("invite", "notifications")}
    assert redacted["content"] == expected


@pytest.mark.parametrize("version", UPDATED)
def test_v11_power_levels_keep_invite_but_drop_notifications(version: RoomVersion) -> None:
    redacted = redact_event(base_event("m.room.power_levels", POWER_LEVELS, state_key=""), version)
    expected = {k: v for k, v in POWER_LEVELS.items() if k != "notifications"}
    assert redacted["content"] == expected


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_join_rules_keep_join_rule_and_allow(version: RoomVersion) -> None:
    content = {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": "!s"}],
        "extra": 1,
    }
    redacted = redact_event(base_event("m.room.join_rules", content, state_key=""), version)
    assert redacted["content"] == {"join_rule": "restricted", "allow": content["allow"]}


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_history_visibility_keeps_only_its_value(version: RoomVersion) -> None:
    content = {"history_visibility": "shared", "x": 1}
    redacted = redact_event(base_event("m.room.history_visibility", content, state_key=""), version)
    assert redacted["content"] == {"history_visibility": "shared"}


SIGNED = {"mxid": "@c:example.org", "token": "tok", "signatures": {}}
MEMBER_CONTENT = {
    "membership": "invite",
    "displayname": "Alice",
    "avatar_url": "mxc://x/y",
    "join_authorised_via_users_server": "@b:example.org",
    "third_party_invite": {
        "display_name": "alice@example.com",
        "signed": SIGNED,
    },
}


def test_v10_member_drops_third_party_invite() -> None:
    redacted = redact_event(base_event("m.room.member", MEMBER_CONTENT, state_key="@c"), V10)
    assert redacted["content"] == {
        "membership": "invite",
        "join_authorised_via_users_server": "@b:example.org",
    }


@pytest.mark.parametrize("version", UPDATED)
def test_v11_member_keeps_only_signed_part_of_third_party_invite(version: RoomVersion) -> None:
    redacted = redact_event(base_event("m.room.member", MEMBER_CONTENT, state_key="@c"), version)
    assert redacted["content"] == {
        "membership": "invite",
        "join_authorised_via_users_server": "@b:example.org",
        "third_party_invite": {"signed": SIGNED},
    }


@pytest.mark.parametrize("version", UPDATED)
def test_v11_member_third_party_invite_without_signed_becomes_empty(version: RoomVersion) -> None:
    content = {"membership": "invite", "third_party_invite": {"display_name": "x"}}
    redacted = redact_event(base_event("m.room.member", content, state_key="@c"), version)
    assert redacted["content"] == {"membership": "invite", "third_party_invite": {}}


@pytest.mark.parametrize("version", UPDATED)
def test_v11_member_third_party_invite_that_is_not_an_object_is_dropped(
    version: RoomVersion,
) -> None:
    content = {"membership": "invite", "third_party_invite": "junk"}
    redacted = redact_event(base_event("m.room.member", content, state_key="@c"), version)
    assert redacted["content"] == {"membership": "invite"}


def test_v10_redaction_content_is_emptied_and_top_level_redacts_dropped() -> None:
    redacted = redact_event(base_event("m.room.redaction", {"redacts": "$x", "reason": "r"}), V10)
    assert redacted["content"] == {}
    assert "redacts" not in redacted


@pytest.mark.parametrize("version", UPDATED)
def test_v11_redaction_keeps_content_redacts_only(version: RoomVersion) -> None:
    event = base_event("m.room.redaction", {"redacts": "$x", "reason": "spam"})
    redacted = redact_event(event, version)
    assert redacted["content"] == {"redacts": "$x"}
    # The client-format top-level copy is not protected.
    assert "redacts" not in redacted


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_unknown_event_type_content_is_emptied(version: RoomVersion) -> None:
    redacted = redact_event(base_event("org.example.custom", {"membership": "join"}), version)
    assert redacted["content"] == {}


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_missing_or_malformed_content_becomes_empty_object(version: RoomVersion) -> None:
    event = base_event("m.room.member", {}, state_key="@c")
    del event["content"]
    assert redact_event(event, version)["content"] == {}
    event["content"] = ["not", "an", "object"]
    assert redact_event(event, version)["content"] == {}


def test_v12_create_without_room_id_stays_without_room_id() -> None:
    event = base_event("m.room.create", {"room_version": "12"}, state_key="")
    del event["room_id"]
    redacted = redact_event(event, V12)
    assert "room_id" not in redacted
    assert redacted["content"] == {"room_version": "12"}


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_input_is_not_mutated_and_output_shares_no_structure(version: RoomVersion) -> None:
    event = base_event("m.room.power_levels", POWER_LEVELS, state_key="")
    snapshot = repr(event)
    redacted = redact_event(event, version)
    assert repr(event) == snapshot
    redacted["content"]["users"]["@z:example.org"] = 1
    redacted["signatures"]["example.org"]["ed25519:1"] = "changed"
    assert repr(event) == snapshot


@pytest.mark.parametrize("version", [V10, V11, V12])
def test_redaction_is_idempotent(version: RoomVersion) -> None:
    event = base_event("m.room.member", MEMBER_CONTENT, state_key="@c")
    once = redact_event(event, version)
    assert redact_event(once, version) == once
