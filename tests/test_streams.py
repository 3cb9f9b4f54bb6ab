"""Stream positions and change tracking."""

from sceau.streams import ChangeTracker, StreamIdGenerator


async def test_current_position_waits_for_slower_earlier_writers():
    stream = StreamIdGenerator(10)
    first = stream.next_position()
    second = stream.next_position()
    pos1 = await first.__aenter__()
    pos2 = await second.__aenter__()
    assert (pos1, pos2) == (11, 12)
    await second.__aexit__(None, None, None)
    assert stream.current() == 10
    await first.__aexit__(None, None, None)
    assert stream.current() == 12


def test_tracker_says_unchanged_only_when_certain():
    tracker = ChangeTracker(start=100)
    assert tracker.changed_since("@a:x", None)
    assert tracker.changed_since("@a:x", 50)  # before the tracker knew anything
    assert not tracker.changed_since("@a:x", 100)
    tracker.record("@a:x", 105)
    assert tracker.changed_since("@a:x", 104)
    assert not tracker.changed_since("@a:x", 105)
    assert not tracker.changed_since("@b:x", 101)
    assert tracker.any_changed_since(104) and not tracker.any_changed_since(105)


def test_tracker_forgets_oldest_keys_and_becomes_conservative():
    tracker = ChangeTracker(start=0, max_keys=2)
    tracker.record("a", 1)
    tracker.record("b", 2)
    tracker.record("c", 3)
    assert tracker.earliest == 1
    assert tracker.changed_since("a", 0)
    assert not tracker.changed_since("a", 2)
