"""The filter model: schema validation, defaults and event matching."""

from typing import Any

import pytest

from sceau.protocol.filters import (
    EventFilter,
    FilterError,
    RoomEventFilter,
    parse_event_filter,
    parse_filter,
    parse_room_event_filter,
    project_event_fields,
)


def event(
    event_type: str = "m.room.message",
    sender: str = "@bob:example.org",
    room_id: str = "!a:example.org",
    **content: Any,
) -> dict[str, Any]:
    return {"type": event_type, "sender": sender, "room_id": room_id, "content": content}


def test_empty_filter_has_spec_defaults_and_matches_everything() -> None:
    parsed = parse_filter({})
    assert parsed.event_format == "client"
    assert parsed.event_fields is None
    assert parsed.room.include_leave is False
    assert parsed.room.timeline.limit is None
    assert parsed.room.timeline.lazy_load_members is False
    assert parsed.room.matches_room("!any:example.org")
    assert parsed.room.timeline.matches(event())
    assert parsed.presence.matches({"type": "m.presence", "sender": "@x:y"})


def test_full_filter_is_parsed_into_nested_dataclasses() -> None:
    body = {
        "event_fields": ["type", "content.body"],
        "event_format": "federation",
        "presence": {"not_types": ["*"]},
        "account_data": {"types": ["m.direct"], "limit": 3},
        "room": {
            "rooms": ["!a:example.org"],
            "not_rooms": ["!b:example.org"],
            "include_leave": True,
            "timeline": {
                "limit": 10,
                "lazy_load_members": True,
                "unread_thread_notifications": True,
            },
            "state": {"lazy_load_members": True, "include_redundant_members": True},
            "ephemeral": {"types": ["m.receipt"]},
            "account_data": {"not_types": ["m.fully_read"]},
        },
        "unknown_key": {"ignored": True},
    }
    parsed = parse_filter(body)
    assert parsed.event_fields == ("type", "content.body")
    assert parsed.event_format == "federation"
    assert parsed.account_data.limit == 3
    assert parsed.account_data.types == ("m.direct",)
    assert parsed.room.include_leave is True
    assert parsed.room.timeline.limit == 10
    assert parsed.room.timeline.unread_thread_notifications is True
    assert parsed.room.state.include_redundant_members is True
    assert not parsed.presence.matches({"type": "m.presence", "sender": "@x:y"})
    assert parsed.room.matches_room("!a:example.org")
    assert not parsed.room.matches_room("!b:example.org")
    assert not parsed.room.matches_room("!c:example.org")


def test_types_support_star_wildcards_anywhere() -> None:
    only_room = EventFilter(types=("m.room.*",))
    assert only_room.matches(event("m.room.message"))
    assert not only_room.matches(event("m.reaction"))
    middle = EventFilter(types=("m.*.message",))
    assert middle.matches(event("m.room.message"))
    assert not middle.matches(event("m.room.messages"))
    dots_are_literal = EventFilter(types=("m.room.name",))
    assert not dots_are_literal.matches(event("m_room_name"))


def test_not_types_win_over_types() -> None:
    filt = EventFilter(types=("m.room.*",), not_types=("m.room.member",))
    assert filt.matches(event("m.room.message"))
    assert not filt.matches(event("m.room.member"))


def test_senders_and_not_senders() -> None:
    filt = EventFilter(
        senders=("@bob:example.org", "@carol:example.org"), not_senders=("@carol:example.org",)
    )
    assert filt.matches(event(sender="@bob:example.org"))
    assert not filt.matches(event(sender="@carol:example.org"))
    assert not filt.matches(event(sender="@dave:example.org"))
    assert EventFilter(not_senders=("@bob:example.org",)).matches(event(sender="@dave:example.org"))


def test_senders_filter_excludes_events_without_sender() -> None:
    assert not EventFilter(senders=("@bob:example.org",)).matches(
        {"type": "m.direct", "content": {}}
    )
    assert EventFilter().matches({"type": "m.direct", "content": {}})


def test_legacy_presence_sender_in_content_is_understood() -> None:
    presence = {"type": "m.presence", "content": {"user_id": "@bob:example.org"}}
    assert EventFilter(senders=("@bob:example.org",)).matches(presence)


def test_room_event_filter_rooms_and_not_rooms() -> None:
    filt = RoomEventFilter(
        rooms=("!a:example.org", "!b:example.org"), not_rooms=("!b:example.org",)
    )
    assert filt.matches(event(room_id="!a:example.org"))
    assert not filt.matches(event(room_id="!b:example.org"))
    assert not filt.matches(event(room_id="!c:example.org"))


@pytest.mark.parametrize(
    ("contains_url", "with_url", "without_url"),
    [(None, True, True), (True, True, False), (False, False, True)],
)
def test_contains_url(contains_url: bool | None, with_url: bool, without_url: bool) -> None:
    filt = RoomEventFilter(contains_url=contains_url)
    assert filt.matches(event(url="mxc://x/y")) is with_url
    assert filt.matches(event(body="no url")) is without_url


def test_contains_url_requires_a_string_url() -> None:
    assert not RoomEventFilter(contains_url=True).matches(event(url=5))


def test_room_event_filter_inherits_type_and_sender_rules() -> None:
    filt = parse_room_event_filter(
        {"types": ["m.room.message"], "not_senders": ["@spam:example.org"]}
    )
    assert filt.matches(event())
    assert not filt.matches(event("m.room.topic"))
    assert not filt.matches(event(sender="@spam:example.org"))


def test_limit_or_default() -> None:
    assert parse_event_filter({}).limit_or(10) == 10
    assert parse_event_filter({"limit": 0}).limit_or(10) == 0
    assert parse_event_filter({"limit": 25}).limit_or(10) == 25


def test_filter_method_keeps_order() -> None:
    events = [event("m.room.message"), event("m.reaction"), event("m.room.message", sender="@z:z")]
    kept = EventFilter(types=("m.room.message",)).filter(events)
    assert kept == [events[0], events[2]]


@pytest.mark.parametrize(
    "body",
    [
        [],
        "filter",
        {"event_format": "raw"},
        {"event_fields": "content.body"},
        {"event_fields": [1]},
        {"presence": []},
        {"presence": {"limit": -1}},
        {"presence": {"limit": "10"}},
        {"presence": {"limit": True}},
        {"presence": {"limit": 1.5}},
        {"account_data": {"types": "m.direct"}},
        {"account_data": {"types": [None]}},
        {"account_data": {"senders": ["bob"]}},
        {"room": {"rooms": ["#alias:example.org"]}},
        {"room": {"not_rooms": [5]}},
        {"room": {"include_leave": "yes"}},
        {"room": {"timeline": []}},
        {"room": {"timeline": {"limit": -5}}},
        {"room": {"timeline": {"lazy_load_members": 1}}},
        {"room": {"state": {"include_redundant_members": "true"}}},
        {"room": {"state": {"contains_url": "true"}}},
        {"room": {"ephemeral": {"not_senders": [1]}}},
        {"room": {"account_data": {"rooms": ["no-sigil"]}}},
        {"room": {"timeline": {"unread_thread_notifications": None}}},
    ],
)
def test_invalid_filters_are_rejected(body: Any) -> None:
    with pytest.raises(FilterError):
        parse_filter(body)


def test_project_event_fields_keeps_only_listed_paths() -> None:
    source = {
        "type": "m.room.message",
        "sender": "@a:b",
        "content": {"body": "hi", "msgtype": "m.text", "m.x": 1},
    }
    assert project_event_fields(source, None) == source
    assert project_event_fields(source, ["type", "content.body"]) == {
        "type": "m.room.message",
        "content": {"body": "hi"},
    }
    assert project_event_fields(source, ["content.m\\.x", "missing.path"]) == {
        "content": {"m.x": 1}
    }


def test_project_event_fields_never_mutates_the_source() -> None:
    source = {"content": {"body": "hi", "msgtype": "m.text"}}
    projected = project_event_fields(source, ["content", "content.body"])
    projected["content"]["body"] = "changed"
    assert source == {"content": {"body": "hi", "msgtype": "m.text"}}


@pytest.mark.parametrize("body", [[], "x", None, 3])
def test_sub_filter_parsers_reject_non_objects(body: Any) -> None:
    for parser in (parse_event_filter, parse_room_event_filter):
        with pytest.raises(FilterError):
            parser(body)


def test_filter_excluding_every_type_or_limited_to_zero_excludes_everything() -> None:
    assert parse_event_filter({"not_types": ["*"]}).excludes_everything()
    assert parse_event_filter({"limit": 0}).excludes_everything()
    assert not parse_event_filter({"not_types": ["m.*"]}).excludes_everything()
    assert not parse_event_filter({}).excludes_everything()


@pytest.mark.parametrize(
    "narrowing",
    [
        {"types": ("m.room.message",)},
        {"not_types": ("m.room.member",)},
        {"senders": ("@bob:example.org",)},
        {"not_senders": ("@eve:example.org",)},
        {"rooms": ("!a:example.org",)},
        {"not_rooms": ("!z:example.org",)},
        {"contains_url": False},
    ],
)
def test_any_list_or_url_check_turns_off_the_match_everything_shortcut(
    narrowing: dict[str, Any],
) -> None:
    assert RoomEventFilter(limit=5, lazy_load_members=True).passes_everything()
    assert not RoomEventFilter(**narrowing).passes_everything()
