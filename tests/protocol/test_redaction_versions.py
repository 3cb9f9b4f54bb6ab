"""The redaction algorithm in each room version, as a table of what each version keeps."""

from typing import Any

import pytest

from sceau.protocol.redaction import redact_event
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS

ALL = [str(n) for n in range(1, 13)]
UP_TO = {n: [str(v) for v in range(1, n + 1)] for n in range(1, 13)}
FROM = {n: [str(v) for v in range(n, 13)] for n in range(1, 13)}

FULL_CONTENT: dict[str, dict[str, Any]] = {
    "m.room.member": {
        "membership": "join",
        "displayname": "Alice",
        "join_authorised_via_users_server": "@bob:example.org",
        "third_party_invite": {"display_name": "a", "signed": {"mxid": "@a:x", "token": "t"}},
    },
    "m.room.create": {"creator": "@alice:example.org", "room_version": "1", "m.federate": True},
    "m.room.join_rules": {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}]},
    "m.room.power_levels": {
        "ban": 50,
        "events": {"m.room.name": 50},
        "events_default": 0,
        "invite": 0,
        "kick": 50,
        "notifications": {"room": 50},
        "redact": 50,
        "state_default": 50,
        "users": {"@alice:example.org": 100},
        "users_default": 0,
    },
    "m.room.history_visibility": {"history_visibility": "shared", "extra": 1},
    "m.room.aliases": {"aliases": ["#a:example.org"]},
    "m.room.redaction": {"redacts": "$target", "reason": "spam"},
    "m.room.message": {"body": "hello", "msgtype": "m.text"},
}

PL_V1 = {
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
}

# (event type, versions, content keys kept)
KEPT: list[tuple[str, list[str], set[str]]] = [
    ("m.room.member", UP_TO[8], {"membership"}),
    ("m.room.member", ["9", "10"], {"membership", "join_authorised_via_users_server"}),
    (
        "m.room.member",
        FROM[11],
        {"membership", "join_authorised_via_users_server", "third_party_invite"},
    ),
    ("m.room.create", UP_TO[10], {"creator"}),
    ("m.room.create", FROM[11], {"creator", "room_version", "m.federate"}),
    ("m.room.join_rules", UP_TO[7], {"join_rule"}),
    ("m.room.join_rules", FROM[8], {"join_rule", "allow"}),
    ("m.room.power_levels", UP_TO[10], PL_V1),
    ("m.room.power_levels", FROM[11], PL_V1 | {"invite"}),
    ("m.room.history_visibility", ALL, {"history_visibility"}),
    ("m.room.aliases", UP_TO[5], {"aliases"}),
    ("m.room.aliases", FROM[6], set()),
    ("m.room.redaction", UP_TO[10], set()),
    ("m.room.redaction", FROM[11], {"redacts"}),
    ("m.room.message", ALL, set()),
]

CASES = [(t, v, kept) for t, versions, kept in KEPT for v in versions]


def test_the_table_covers_every_type_in_every_version() -> None:
    covered = {(t, v) for t, v, _ in CASES}
    assert covered == {(t, v) for t in FULL_CONTENT for v in ALL}
    assert len(covered) == len(CASES)


@pytest.mark.parametrize("event_type,version,kept", CASES)
def test_content_keys_kept_per_version(event_type: str, version: str, kept: set[str]) -> None:
    event = {"type": event_type, "content": FULL_CONTENT[event_type], "state_key": ""}
    redacted = redact_event(event, KNOWN_ROOM_VERSIONS[version])
    assert set(redacted["content"]) == kept
    for key in kept - {"third_party_invite"}:
        assert redacted["content"][key] == FULL_CONTENT[event_type][key]


def test_v11_member_keeps_only_signed_of_third_party_invite() -> None:
    event = {"type": "m.room.member", "content": FULL_CONTENT["m.room.member"]}
    redacted = redact_event(event, KNOWN_ROOM_VERSIONS["11"])
    assert redacted["content"]["third_party_invite"] == {"signed": {"mxid": "@a:x", "token": "t"}}


OLD_TOP_LEVEL = {"prev_state", "origin", "membership"}


@pytest.mark.parametrize("version", ALL)
def test_top_level_keys_per_version(version: str) -> None:
    event = {
        "event_id": "$e:example.org",
        "type": "m.room.message",
        "room_id": "!r:example.org",
        "sender": "@a:example.org",
        "content": {"body": "x"},
        "hashes": {"sha256": "h"},
        "signatures": {},
        "depth": 1,
        "prev_events": [],
        "auth_events": [],
        "origin_server_ts": 1,
        "prev_state": [],
        "origin": "example.org",
        "membership": "join",
        "unsigned": {"age": 1},
        "redacts": "$x",
        "custom": True,
    }
    redacted = redact_event(event, KNOWN_ROOM_VERSIONS[version])
    dropped = {"unsigned", "redacts", "custom"}
    if int(version) >= 11:
        dropped |= OLD_TOP_LEVEL
    assert set(redacted) == set(event) - dropped


def test_spec_v1_stringy_power_levels_example_survives_redaction_in_v1_to_v9() -> None:
    content = {
        "ban": "50",
        "events": {"m.room.power_levels": "100"},
        "events_default": "0",
        "state_default": "50",
        "users": {"@example:localhost": "100"},
        "users_default": "0",
    }
    event = {"type": "m.room.power_levels", "state_key": "", "content": content}
    for version in UP_TO[9]:
        assert redact_event(event, KNOWN_ROOM_VERSIONS[version])["content"] == content
