"""Power level lookups and createRoom defaults, per room version."""

import math

import pytest

from sceau.protocol.power_levels import (
    action_power_level,
    default_power_levels,
    event_power_level,
    notification_power_level,
    room_creators,
    user_power_level,
)
from sceau.protocol.room_versions import KNOWN_ROOM_VERSIONS

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]

ALICE = "@alice:a.test"
BOB = "@bob:b.test"
CAROL = "@carol:c.test"


def create_event(sender: str = ALICE, **content: object) -> dict[str, object]:
    return {"type": "m.room.create", "sender": sender, "state_key": "", "content": content}


def test_without_power_levels_v10_creator_from_content_gets_100() -> None:
    create = create_event(ALICE, creator=BOB)
    assert user_power_level(BOB, None, create, V10) == 100
    assert user_power_level(ALICE, None, create, V10) == 0


def test_without_power_levels_v11_creator_is_the_sender() -> None:
    create = create_event(ALICE, creator=BOB)
    assert user_power_level(ALICE, None, create, V11) == 100
    assert user_power_level(BOB, None, create, V11) == 0


def test_v12_creators_have_infinite_power_with_or_without_power_levels() -> None:
    create = create_event(ALICE, additional_creators=[BOB])
    pl = {"users": {CAROL: 100}, "users_default": 10}
    for content in (None, pl):
        assert user_power_level(ALICE, content, create, V12) == math.inf
        assert user_power_level(BOB, content, create, V12) == math.inf
    assert user_power_level(CAROL, None, create, V12) == 0
    assert user_power_level(CAROL, pl, create, V12) == 100


def test_v12_additional_creators_ignored_before_v12() -> None:
    create = create_event(ALICE, additional_creators=[BOB])
    assert user_power_level(BOB, None, create, V11) == 0
    assert room_creators(create, V11) == {ALICE}
    assert room_creators(create, V12) == {ALICE, BOB}


def test_users_entry_then_users_default_then_zero() -> None:
    create = create_event()
    pl = {"users": {BOB: 75}, "users_default": 5}
    assert user_power_level(BOB, pl, create, V11) == 75
    assert user_power_level(CAROL, pl, create, V11) == 5
    assert user_power_level(CAROL, {"users": {}}, create, V11) == 0
    # The creator holds no special level once a power levels event exists (v<12).
    assert user_power_level(ALICE, {}, create, V11) == 0


def test_malformed_user_level_falls_back_to_users_default() -> None:
    pl = {"users": {BOB: "high", CAROL: True}, "users_default": 3}
    assert user_power_level(BOB, pl, create_event(), V11) == 3
    assert user_power_level(CAROL, pl, create_event(), V11) == 3


def test_event_power_level_prefers_events_then_state_or_events_default() -> None:
    pl = {"events": {"m.room.topic": 20}, "state_default": 40, "events_default": 7}
    assert event_power_level("m.room.topic", True, pl) == 20
    assert event_power_level("m.room.name", True, pl) == 40
    assert event_power_level("m.room.message", False, pl) == 7


def test_event_power_level_spec_defaults() -> None:
    assert event_power_level("m.room.name", True, None) == 50
    assert event_power_level("m.room.message", False, None) == 0
    assert event_power_level("m.room.name", True, {}) == 50
    assert event_power_level("m.room.message", False, {}) == 0


@pytest.mark.parametrize(
    ("action", "default"), [("invite", 0), ("kick", 50), ("ban", 50), ("redact", 50)]
)
def test_action_power_level_defaults_and_overrides(action: str, default: int) -> None:
    assert action_power_level(action, None) == default  # type: ignore[arg-type]
    assert action_power_level(action, {}) == default  # type: ignore[arg-type]
    assert action_power_level(action, {action: 12}) == 12  # type: ignore[arg-type]


def test_notification_power_level_defaults_to_50() -> None:
    assert notification_power_level("room", None) == 50
    assert notification_power_level("room", {"notifications": {"room": 10}}) == 10
    assert notification_power_level("other", {"notifications": {"room": 10}}) == 50


def test_default_power_levels_before_v12_list_creator_and_preset_users() -> None:
    content = default_power_levels(ALICE, V11, [BOB], preset="trusted_private_chat")
    assert content["users"] == {ALICE: 100, BOB: 100}
    assert content["users_default"] == 0
    assert content["events_default"] == 0
    assert content["state_default"] == 50
    assert (content["ban"], content["kick"], content["redact"], content["invite"]) == (
        50,
        50,
        50,
        0,
    )
    assert content["notifications"] == {"room": 50}
    assert content["events"] == {
        "m.room.name": 50,
        "m.room.power_levels": 100,
        "m.room.history_visibility": 100,
        "m.room.canonical_alias": 50,
        "m.room.avatar": 50,
        "m.room.tombstone": 100,
        "m.room.server_acl": 100,
        "m.room.encryption": 100,
        "m.call.member": 0,
        "org.matrix.msc3401.call.member": 0,
        "m.call": 0,
        "org.matrix.msc3401.call": 0,
    }


def test_default_power_levels_v12_omits_creators_and_raises_tombstone() -> None:
    content = default_power_levels(ALICE, V12, [BOB, CAROL], additional_creators=[BOB])
    assert content["users"] == {CAROL: 100}
    assert content["events"]["m.room.tombstone"] > content["state_default"]
    assert content["events"]["m.room.tombstone"] == 150


def test_default_power_levels_public_chat_requires_moderator_to_invite() -> None:
    assert default_power_levels(ALICE, V11, preset="public_chat")["invite"] == 50
    assert default_power_levels(ALICE, V11, preset="private_chat")["invite"] == 0


def test_default_power_levels_let_every_member_join_a_group_call() -> None:
    for preset in ("private_chat", "trusted_private_chat", "public_chat", None):
        events = default_power_levels(ALICE, V11, preset=preset)["events"]
        assert events["m.call.member"] == 0
        assert events["org.matrix.msc3401.call.member"] == 0
    assert default_power_levels(ALICE, V11, preset="private_chat")["events"]["m.call"] == 0
    public = default_power_levels(ALICE, V11, preset="public_chat")["events"]
    assert public["m.call"] == public["org.matrix.msc3401.call"] == 50


def test_default_power_levels_override_replaces_top_level_keys() -> None:
    content = default_power_levels(ALICE, V11, override={"events": {"m.room.topic": 0}, "ban": 10})
    assert content["events"] == {"m.room.topic": 0}
    assert content["ban"] == 10
    assert content["kick"] == 50
