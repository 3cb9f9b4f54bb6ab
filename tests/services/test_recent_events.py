"""The in-memory tail of each room answers woken /sync requests, or admits it cannot."""

from sceau.services.recent_events import RecentEvents
from sceau.storage.events import StoredEvent


def _event(pos: int, event_type: str = "m.room.message") -> StoredEvent:
    pdu = {"type": event_type, "sender": "@a:test.local", "content": {"body": str(pos)}}
    return StoredEvent(pos, f"$e{pos}", "!r:test.local", pdu, None, None, 1)


def _positions(events: list[StoredEvent] | None) -> list[int] | None:
    return None if events is None else [e.stream_pos for e in events]


def test_events_after_the_floor_come_newest_first_within_bounds():
    recent = RecentEvents()
    recent.append("!r:test.local", [_event(5), _event(7), _event(9)])
    found = recent.newest("!r:test.local", after=5, before=10, limit=10)
    assert _positions(found) == [9, 7]
    assert _positions(recent.newest("!r:test.local", after=4, before=9, limit=10)) == [7, 5]
    assert _positions(recent.newest("!r:test.local", after=4, before=10, limit=2)) == [9, 7]


def test_a_token_older_than_the_tail_is_not_answered_from_memory():
    recent = RecentEvents()
    recent.append("!r:test.local", [_event(5)])
    # Event 5 may have had predecessors at 1..3 the cache never saw.
    assert recent.newest("!r:test.local", after=3, before=10, limit=10) is None
    assert _positions(recent.newest("!r:test.local", after=4, before=10, limit=10)) == [5]


def test_an_unknown_room_is_not_answered_from_memory():
    assert RecentEvents().newest("!other:test.local", after=0, before=10, limit=5) is None


def test_a_full_tail_moves_its_floor_past_the_events_it_drops():
    recent = RecentEvents(per_room=3)
    recent.append("!r:test.local", [_event(p) for p in range(1, 7)])
    assert recent.newest("!r:test.local", after=2, before=100, limit=10) is None
    assert _positions(recent.newest("!r:test.local", after=3, before=100, limit=10)) == [6, 5, 4]


def test_type_filters_apply_before_the_limit():
    recent = RecentEvents()
    recent.append(
        "!r:test.local",
        [_event(1), _event(2, "m.reaction"), _event(3, "m.reaction"), _event(4)],
    )
    found = recent.newest("!r:test.local", after=0, before=10, limit=2, types=["m.room.message"])
    assert _positions(found) == [4, 1]


def test_a_forgotten_room_goes_back_to_the_database():
    recent = RecentEvents()
    recent.append("!r:test.local", [_event(1)])
    recent.forget("!r:test.local")
    assert recent.newest("!r:test.local", after=0, before=10, limit=10) is None


def test_the_least_recently_written_room_is_dropped_first():
    recent = RecentEvents(max_rooms=2)
    for pos, room in enumerate(["!a:x", "!b:x", "!a:x", "!c:x"], start=1):
        recent.append(room, [StoredEvent(pos, f"$e{pos}", room, {"type": "t"}, None, None, 1)])
    assert recent.newest("!b:x", after=0, before=10, limit=1) is None
    assert _positions(recent.newest("!a:x", after=0, before=10, limit=5)) == [3, 1]


def test_rooms_written_least_recently_go_first_once_all_tails_hold_too_many_events():
    recent = RecentEvents(per_room=10, max_events=6)
    recent.append("!a:test.local", [_event(1), _event(2), _event(3)])
    recent.append("!b:test.local", [_event(4), _event(5)])
    recent.append("!c:test.local", [_event(6), _event(7)])
    assert len(recent) == 4
    assert recent.newest("!a:test.local", after=0, before=100, limit=10) is None
    assert _positions(recent.newest("!b:test.local", after=3, before=100, limit=10)) == [5, 4]
    recent.forget("!b:test.local")
    assert len(recent) == 2
    recent.forget_learnt(None)
    assert len(recent) == 0
