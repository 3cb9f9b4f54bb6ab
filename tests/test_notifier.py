"""The notifier: marking, releasing in slices, timeouts."""

import asyncio

from sceau.notifier import Notifier, Timeouts, Waiter


async def test_woken_waiters_resume_a_slice_at_a_time_so_a_writer_runs_between():
    notifier = Notifier(wake_slice=2)
    waiters = [notifier.register(f"@u{i}:x", ["!r:x"]) for i in range(6)]
    order: list[object] = []

    async def poll(i: int) -> None:
        assert await waiters[i].wait(10)
        order.append(i)

    tasks = [asyncio.create_task(poll(i)) for i in range(6)]
    await asyncio.sleep(0)  # every poll is waiting
    notifier.notify_room("!r:x")
    assert all(w.woken for w in waiters)  # marked at once
    asyncio.get_running_loop().call_soon(order.append, "writer")
    await asyncio.gather(*tasks)
    assert sorted(i for i in order if isinstance(i, int)) == list(range(6))
    # Released from the next turn on, a slice at a time: the writer's step,
    # queued after the notification, did not wait for all of them.
    assert order.index("writer") <= 2
    assert notifier.wakes == 6


async def test_a_wait_times_out_and_a_marked_waiter_does_not_wait():
    notifier = Notifier()
    waiter = notifier.register("@a:x", ["!r:x"])
    assert await waiter.wait(0.01) is False
    notifier.notify_users(["@a:x"])
    assert await waiter.wait(10) is True
    # Woken once: a second notification does not count again.
    notifier.notify_room("!r:x")
    assert notifier.wakes == 1


async def test_a_cancelled_wait_is_skipped_when_its_slice_comes():
    notifier = Notifier(wake_slice=1)
    first, second = notifier.register("@a:x", ["!r:x"]), notifier.register("@b:x", ["!r:x"])
    gone = asyncio.create_task(first.wait(10))
    kept = asyncio.create_task(second.wait(10))
    await asyncio.sleep(0)
    gone.cancel()
    notifier.notify_room("!r:x")
    assert await kept is True
    assert gone.cancelled()


async def test_a_sync_taking_its_turn_waits_behind_the_waiters_already_woken():
    notifier = Notifier(wake_slice=1)
    waiters = [notifier.register(f"@u{i}:x", ["!r:x"]) for i in range(3)]
    order: list[str] = []

    async def poll(i: int) -> None:
        await waiters[i].wait(10)
        order.append("woken")

    async def came_back() -> None:
        await notifier.take_turn()
        order.append("turn")

    tasks = [asyncio.create_task(poll(i)) for i in range(3)]
    await asyncio.sleep(0)
    await notifier.take_turn()  # nothing queued: no wait at all
    notifier.notify_room("!r:x")
    tasks.append(asyncio.create_task(came_back()))
    await asyncio.gather(*tasks)
    assert order == ["woken", "woken", "woken", "turn"]


async def test_long_waits_end_on_a_shared_grid_never_after_their_timeout():
    timeouts = Timeouts(grain_s=0.05)
    notifier = Notifier()
    waiters = [Waiter(f"@u{i}:x", frozenset({"!r:x"}), timeouts) for i in range(3)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(*(w.wait(0.3) for w in waiters))
    assert results == [False, False, False]
    # Rounded down to the grid: at most one step early.
    assert loop.time() - started >= 0.3 - 0.05 - 0.01
    # A woken one leaves its step at once.
    woken = notifier.register("@a:x", ["!r:x"])
    task = asyncio.create_task(woken.wait(5))
    await asyncio.sleep(0)
    notifier.notify_room("!r:x")
    assert await task is True
