"""The multi-process position model (sceau/cluster/stream.py), without Redis or PostgreSQL.

A shared counter stands in for the PostgreSQL sequence; the tests deliver
claims between processes by hand, in the orders that matter.
"""

import asyncio
import itertools

from sceau.cluster.stream import ClusterStream
from sceau.streams import ChangeTracker


def make_pair(start: int = 0) -> tuple[ClusterStream, ClusterStream]:
    sequence = itertools.count(start + 1)

    async def allocate(count: int) -> list[int]:
        await asyncio.sleep(0)
        return [next(sequence) for _ in range(count)]

    first, second = ClusterStream("a", allocate, start), ClusterStream("b", allocate, start)
    first.heard("b", start)
    second.heard("a", start)
    # Each tells the other of every claim it makes, as the bus does.
    first.on_claim = lambda claim: second.heard("a", claim)
    second.on_claim = lambda claim: first.heard("b", claim)
    return first, second


def test_a_lower_position_finishing_last_holds_readers_back_until_it_finishes() -> None:
    async def scenario() -> None:
        a, b = make_pair()
        slow = a.next_position()
        low = await slow.__aenter__()
        async with b.next_position() as high:
            assert high > low
        # b finished the higher position, but a still writes the lower one.
        assert a.current() < low and b.current() < low
        await slow.__aexit__(None, None, None)
        assert a.current() == b.current() == high

    asyncio.run(scenario())


def test_an_idle_process_does_not_hold_the_others_back() -> None:
    async def scenario() -> None:
        a, b = make_pair(start=10)
        for _ in range(3):
            async with a.next_position():
                pass
        # b wrote nothing: it adopts a's claim, so readers move on.
        assert b.current() == a.current() == 13

    asyncio.run(scenario())


def test_a_process_with_a_position_requested_keeps_its_claim() -> None:
    async def scenario() -> None:
        a, b = make_pair()
        requested = asyncio.ensure_future(b.next_position().__aenter__())
        await asyncio.sleep(0)  # b asked the sequence; the answer is not back yet
        async with a.next_position():
            pass
        # b may get a position below a's claim: it must not adopt it yet.
        assert b.claim == 0
        position = await requested
        assert position >= 1

    asyncio.run(scenario())


def test_a_forgotten_process_no_longer_holds_readers_back() -> None:
    async def scenario() -> None:
        a, _b = make_pair()
        a.heard("c", 0)
        async with a.next_position() as position:
            pass
        assert a.current() == 0
        a.forget("c")
        assert a.current() == position

    asyncio.run(scenario())


def test_a_tracker_learns_only_newer_changes_and_forgets_what_may_be_lost() -> None:
    tracker = ChangeTracker(5)
    tracker.learn("!room", 9)
    tracker.learn("!room", 7)
    assert tracker.last_change("!room") == 9
    assert not tracker.changed_since("!other", 6)
    tracker.forget_before(20)
    assert tracker.changed_since("!other", 6)
    assert not tracker.changed_since("!other", 20)


def test_a_token_from_a_process_further_ahead_waits_until_this_one_catches_up() -> None:
    async def scenario() -> None:
        a, b = make_pair()
        b.on_claim = lambda _claim: None  # b's claims reach a late
        async with b.next_position() as position:
            pass
        waiting = asyncio.ensure_future(a.catch_up(position, timeout_s=30))
        await asyncio.sleep(0)
        assert not waiting.done()
        a.heard("b", b.claim)
        await waiting
        assert a.current() == position

    asyncio.run(scenario())
