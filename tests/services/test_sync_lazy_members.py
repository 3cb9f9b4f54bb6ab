"""What a device is known to hold of lazy-loaded members stays bounded."""

from sceau.services.sync_lazy_members import LazyMembersSent


def _entry(*members: tuple[str, str]) -> dict:
    events = [
        {"type": "m.room.member", "state_key": user, "event_id": event_id}
        for user, event_id in members
    ]
    return {"state": {"events": events}, "timeline": {"events": []}}


def test_member_events_held_per_device_are_bounded_oldest_first():
    held = LazyMembersSent(max_devices=10, max_members=2)
    held.trim_and_note("@a:x", "D", None, 5, {"!r": _entry(("@1:x", "$1"), ("@2:x", "$2"))})
    held.trim_and_note("@a:x", "D", 5, 6, {"!r": _entry(("@3:x", "$3"))})
    joined = {"!r": _entry(("@1:x", "$1"), ("@2:x", "$2"), ("@3:x", "$3"))}
    held.trim_and_note("@a:x", "D", 6, 7, joined)
    # @1 was pushed out by @3: sent again; @2 and @3 are held.
    assert [e["state_key"] for e in joined["!r"]["state"]["events"]] == ["@1:x"]


def test_devices_are_bounded_and_a_forgotten_one_is_sent_everything():
    held = LazyMembersSent(max_devices=1)
    held.trim_and_note("@a:x", "D1", None, 5, {"!r": _entry(("@1:x", "$1"))})
    held.trim_and_note("@b:x", "D2", None, 5, {"!r": _entry(("@1:x", "$1"))})
    assert len(held) == 1
    joined = {"!r": _entry(("@1:x", "$1"))}
    held.trim_and_note("@a:x", "D1", 5, 6, joined)
    assert len(joined["!r"]["state"]["events"]) == 1


def test_a_member_event_of_another_room_or_a_newer_one_is_not_held():
    held = LazyMembersSent()
    held.trim_and_note("@a:x", "D", None, 5, {"!r": _entry(("@1:x", "$1"))})
    joined = {"!r": _entry(("@1:x", "$1b")), "!s": _entry(("@1:x", "$1"))}
    held.trim_and_note("@a:x", "D", 5, 6, joined)
    assert len(joined["!r"]["state"]["events"]) == 1
    assert len(joined["!s"]["state"]["events"]) == 1
