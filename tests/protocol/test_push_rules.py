"""Push rules: default ruleset shape, condition semantics, evaluation order, validation."""

from typing import Any

import pytest

from sceau.protocol.push_rules import (
    PushContext,
    PushRuleError,
    condition_matches,
    default_push_rules,
    evaluate_push_rules,
    glob_matches,
    is_highlight,
    is_notify,
    lookup_property,
    sound_of,
    split_dotted_key,
    validate_push_rule,
)

ME = "@alice:example.org"
ROOM = "!room:example.org"


def ctx(members: int = 5, level: int = 0, name: str | None = "Alice Liddell") -> PushContext:
    return PushContext(
        user_id=ME,
        display_name=name,
        room_member_count=members,
        power_levels={"notifications": {"room": 50}},
        sender_power_level=level,
    )


def message(body: str = "hello", **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "room_id": ROOM,
        "sender": "@bob:example.org",
        "event_id": "$e",
        "content": {"msgtype": "m.text", "body": body, **content},
    }


RULES = default_push_rules(ME)


def actions_for(event: dict[str, Any], context: PushContext | None = None) -> list[object]:
    return evaluate_push_rules(RULES, event, context or ctx())


def test_default_rules_are_in_spec_order() -> None:
    rules = RULES["global"]
    assert [r["rule_id"] for r in rules["override"]] == [
        ".m.rule.master",
        ".m.rule.suppress_notices",
        ".m.rule.invite_for_me",
        ".m.rule.member_event",
        ".m.rule.is_user_mention",
        ".m.rule.contains_display_name",
        ".m.rule.is_room_mention",
        ".m.rule.roomnotif",
        ".m.rule.tombstone",
        ".m.rule.reaction",
        ".m.rule.room.server_acl",
        ".m.rule.suppress_edits",
    ]
    assert [r["rule_id"] for r in rules["content"]] == [".m.rule.contains_user_name"]
    assert rules["content"][0]["pattern"] == "alice"
    assert rules["room"] == [] and rules["sender"] == []
    assert [r["rule_id"] for r in rules["underride"]] == [
        ".m.rule.call",
        ".m.rule.encrypted_room_one_to_one",
        ".m.rule.room_one_to_one",
        ".m.rule.message",
        ".m.rule.encrypted",
    ]
    assert all(r["default"] is True for kind in rules.values() for r in kind)
    assert rules["override"][0]["enabled"] is False


def test_spec_v1_17_ruleset_without_legacy_mention_rules() -> None:
    rules = default_push_rules(ME, legacy_mention_rules=False)["global"]
    ids = [r["rule_id"] for r in rules["override"]]
    assert ".m.rule.contains_display_name" not in ids and ".m.rule.roomnotif" not in ids
    assert rules["content"] == []


def test_plain_message_in_group_room_notifies_without_highlight() -> None:
    actions = actions_for(message())
    assert actions == ["notify"]
    assert is_notify(actions) and not is_highlight(actions)


def test_one_to_one_message_plays_default_sound() -> None:
    actions = actions_for(message(), ctx(members=2))
    assert sound_of(actions) == "default"


def test_notice_is_suppressed() -> None:
    assert actions_for(message(msgtype="m.notice")) == []


def test_master_rule_when_enabled_silences_everything() -> None:
    rules = default_push_rules(ME)
    rules["global"]["override"][0]["enabled"] = True
    assert evaluate_push_rules(rules, message(), ctx()) == []


def test_invite_for_me_notifies_but_other_member_events_do_not() -> None:
    invite = {
        "type": "m.room.member",
        "state_key": ME,
        "sender": "@bob:example.org",
        "content": {"membership": "invite"},
    }
    assert sound_of(actions_for(invite)) == "default"
    other = {**invite, "state_key": "@carol:example.org"}
    assert actions_for(other) == []


def test_user_mention_highlights() -> None:
    actions = actions_for(message("hey", **{"m.mentions": {"user_ids": [ME]}}))
    assert is_highlight(actions) and is_notify(actions)


def test_room_mention_needs_sender_notification_permission() -> None:
    event = message("all", **{"m.mentions": {"room": True}})
    assert is_highlight(actions_for(event, ctx(level=50)))
    assert not is_highlight(actions_for(event, ctx(level=0)))


def test_legacy_display_name_and_user_name_mentions_highlight() -> None:
    assert is_highlight(actions_for(message("hi alice liddell, welcome")))
    assert is_highlight(actions_for(message("ping ALICE!")))
    assert not is_highlight(actions_for(message("malice is not a mention")))


def test_edits_and_reactions_are_suppressed() -> None:
    edit = message("* fixed", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}})
    assert actions_for(edit) == []
    assert actions_for({"type": "m.reaction", "content": {}}) == []


def test_tombstone_highlights_only_as_state_event() -> None:
    tombstone = {"type": "m.room.tombstone", "state_key": "", "content": {"body": "moved"}}
    assert is_highlight(actions_for(tombstone))
    assert actions_for({"type": "m.room.tombstone", "content": {}}) == []


def test_encrypted_events_notify() -> None:
    encrypted = {"type": "m.room.encrypted", "content": {"ciphertext": "x"}}
    assert actions_for(encrypted) == ["notify"]
    assert sound_of(actions_for(encrypted, ctx(members=2))) == "default"


def test_call_invite_rings() -> None:
    assert sound_of(actions_for({"type": "m.call.invite", "content": {}})) == "ring"


def test_unknown_event_type_gets_no_actions() -> None:
    assert actions_for({"type": "org.example.custom", "content": {}}) == []


def test_room_and_sender_rules_match_by_rule_id_and_outrank_underride() -> None:
    rules = default_push_rules(ME)
    rules["global"]["room"] = [{"rule_id": ROOM, "enabled": True, "actions": ["dont_notify"]}]
    assert evaluate_push_rules(rules, message(), ctx()) == []
    rules["global"]["room"] = []
    rules["global"]["sender"] = [
        {
            "rule_id": "@bob:example.org",
            "enabled": True,
            "actions": ["notify", {"set_tweak": "sound", "value": "x"}],
        }
    ]
    assert sound_of(evaluate_push_rules(rules, message(), ctx())) == "x"


def test_disabled_rule_is_skipped() -> None:
    rules = default_push_rules(ME)
    for rule in rules["global"]["underride"]:
        rule["enabled"] = False
    assert evaluate_push_rules(rules, message(), ctx()) == []


def test_historical_actions_are_stripped() -> None:
    rules = {
        "global": {
            "override": [
                {"rule_id": "x", "conditions": [], "actions": ["dont_notify", "coalesce", "notify"]}
            ]
        }
    }
    assert evaluate_push_rules(rules, message(), ctx()) == ["notify"]


# --- conditions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("lunc?*", "Lunch plans", True),
        ("lunc?*", "LUNCH", True),
        ("lunc?*", " lunch", False),
        ("lunc?*", "lunc", False),
        ("m.room.*", "m.room.message", True),
        ("m.room.*", "m_room_message", False),
        ("", "", True),
        ("a.c", "abc", False),
    ],
)
def test_event_match_glob_on_whole_value(pattern: str, value: str, expected: bool) -> None:
    assert glob_matches(pattern, value) is expected


@pytest.mark.parametrize(
    ("pattern", "body", "expected"),
    [
        ("ex*ple", "An example event.", True),
        ("ex*ple", "exple", True),
        ("ex*ple", "An exciting triple-whammy", True),
        ("cake", "I like cake!", True),
        ("cake", "cakes are nice", False),
        ("cake", "pancake", False),
        ("cake", "some_cake", False),
        ("@room", "hello @room", True),
    ],
)
def test_event_match_on_body_uses_word_boundaries(pattern: str, body: str, expected: bool) -> None:
    condition = {"kind": "event_match", "key": "content.body", "pattern": pattern}
    assert condition_matches(condition, message(body), ctx()) is expected


def test_event_match_needs_a_string_value_even_for_star() -> None:
    condition = {"kind": "event_match", "key": "content.topic", "pattern": "*"}
    assert not condition_matches(condition, {"content": {"topic": None}}, ctx())
    assert not condition_matches(condition, {"content": {}}, ctx())
    assert condition_matches(condition, {"content": {"topic": ""}}, ctx())


def test_dotted_keys_unescape_dots_and_backslashes() -> None:
    assert split_dotted_key("content.m\\.relates_to.rel_type") == [
        "content",
        "m.relates_to",
        "rel_type",
    ]
    assert split_dotted_key("content.m\\\\foo") == ["content", "m\\foo"]
    assert split_dotted_key("content.m\\xfoo") == ["content", "m\\xfoo"]
    event = {"content": {"m.federate": True, "m\\foo": 1}}
    assert lookup_property(event, "content.m\\.federate") is True
    assert lookup_property(event, "content.m\\\\foo") == 1


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("true", False), (1, False)])
def test_event_property_is_is_type_exact(value: object, expected: bool) -> None:
    condition = {"kind": "event_property_is", "key": "content.m\\.federate", "value": True}
    assert condition_matches(condition, {"content": {"m.federate": value}}, ctx()) is expected


def test_event_property_is_matches_null_and_integers() -> None:
    null = {"kind": "event_property_is", "key": "content.x", "value": None}
    assert condition_matches(null, {"content": {"x": None}}, ctx())
    assert not condition_matches(null, {"content": {}}, ctx())
    number = {"kind": "event_property_is", "key": "content.x", "value": 3}
    assert condition_matches(number, {"content": {"x": 3}}, ctx())
    assert not condition_matches(number, {"content": {"x": True}}, ctx())


def test_event_property_contains_exact_array_member() -> None:
    condition = {
        "kind": "event_property_contains",
        "key": "content.alt_aliases",
        "value": "#myroom:example.com",
    }
    good = {"content": {"alt_aliases": ["#somewhere:example.org", "#myroom:example.com"]}}
    assert condition_matches(condition, good, ctx())
    assert not condition_matches(condition, {"content": {"alt_aliases": [":example.com"]}}, ctx())
    assert not condition_matches(
        condition, {"content": {"alt_aliases": "#myroom:example.com"}}, ctx()
    )


@pytest.mark.parametrize(
    ("spec", "count", "expected"),
    [
        ("2", 2, True),
        ("==2", 3, False),
        ("<10", 9, True),
        ("<10", 10, False),
        (">2", 3, True),
        ("<=10", 10, True),
        (">=3", 2, False),
        ("abc", 2, False),
        ("=2", 2, False),
    ],
)
def test_room_member_count_operators(spec: str, count: int, expected: bool) -> None:
    condition = {"kind": "room_member_count", "is": spec}
    assert condition_matches(condition, message(), ctx(members=count)) is expected


def test_contains_display_name_is_literal_and_needs_a_name() -> None:
    condition = {"kind": "contains_display_name"}
    assert condition_matches(condition, message("Hi Alice Liddell"), ctx())
    assert not condition_matches(condition, message("Hi Alice Liddellx"), ctx())
    assert not condition_matches(condition, message("Hi Alice"), ctx(name=None))
    starry = ctx(name="a*b")
    assert condition_matches(condition, message("say a*b now"), starry)
    assert not condition_matches(condition, message("say axxb now"), starry)


def test_unknown_condition_never_matches() -> None:
    assert not condition_matches({"kind": "org.example.future"}, message(), ctx())
    rules = {
        "global": {
            "override": [{"rule_id": "x", "conditions": [{"kind": "nope"}], "actions": ["notify"]}]
        }
    }
    assert evaluate_push_rules(rules, {"type": "x", "content": {}}, ctx()) == []


# --- validation ----------------------------------------------------------------------


def test_validate_content_rule() -> None:
    rule = validate_push_rule("content", "cake", {"pattern": "cake*lie", "actions": ["notify"]})
    assert rule == {
        "rule_id": "cake",
        "default": False,
        "enabled": True,
        "actions": ["notify"],
        "pattern": "cake*lie",
    }


def test_validate_override_rule_keeps_conditions() -> None:
    body = {
        "conditions": [
            {"kind": "event_match", "key": "content.body", "pattern": "beer"},
            {"kind": "room_member_count", "is": "<=10"},
        ],
        "actions": ["notify", {"set_tweak": "sound", "value": "beeroclock.wav"}],
    }
    rule = validate_push_rule("override", "beer", body)
    assert rule["conditions"] == body["conditions"]
    assert rule["actions"] == body["actions"]


def test_validate_room_rule_needs_only_actions() -> None:
    assert validate_push_rule("room", ROOM, {"actions": []})["actions"] == []


@pytest.mark.parametrize(
    ("kind", "rule_id", "body"),
    [
        ("bogus", "x", {"actions": []}),
        ("override", ".m.rule.master", {"actions": []}),
        ("override", "a/b", {"actions": []}),
        ("override", "a\\b", {"actions": []}),
        ("override", "", {"actions": []}),
        ("override", "x", {}),
        ("override", "x", {"actions": "notify"}),
        ("override", "x", {"actions": ["explode"]}),
        ("override", "x", {"actions": [{"value": 1}]}),
        ("override", "x", {"actions": [], "conditions": {}}),
        ("override", "x", {"actions": [], "conditions": [{"key": "type"}]}),
        ("override", "x", {"actions": [], "conditions": [{"kind": "event_match", "key": "type"}]}),
        (
            "override",
            "x",
            {
                "actions": [],
                "conditions": [{"kind": "event_property_is", "key": "a", "value": 1.5}],
            },
        ),
        ("content", "x", {"actions": []}),
        ("content", "x", ["not", "an", "object"]),
    ],
)
def test_validate_rejects_malformed_rules(kind: str, rule_id: str, body: Any) -> None:
    with pytest.raises(PushRuleError):
        validate_push_rule(kind, rule_id, body)


def test_validate_strips_historical_actions() -> None:
    assert validate_push_rule("sender", "@x:y", {"actions": ["dont_notify"]})["actions"] == []


def test_highlight_tweak_value_false_is_not_highlight() -> None:
    assert not is_highlight(["notify", {"set_tweak": "highlight", "value": False}])
    assert is_highlight([{"set_tweak": "highlight", "value": True}])
