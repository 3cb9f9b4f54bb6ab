"""A burst of initial syncs is built a few at a time; incremental syncs never queue behind it.

An initial sync holds the state of every room it lists while it is built, so
twenty at once hold twenty copies. The room computation is gated by the test,
so the count of syncs being built is exact.
"""

import asyncio
from typing import Any

import pytest

from sceau.homeserver import Services
from sceau.protocol.filters import parse_filter
from sceau.services.tokens import SyncToken

SLOTS = 2
BURST = 6


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"limits": {"full_sync_concurrency": SLOTS}}


async def _until(condition: Any) -> None:
    """Yield to the loop until ``condition()`` holds (database reads included), 10 s at most."""
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.005)


async def test_initial_syncs_beyond_the_slots_wait_and_incremental_ones_do_not(
    services: Services,
) -> None:
    sync = services.sync
    gate = asyncio.Event()
    building: list[str] = []
    most = 0
    compute = sync._compute

    async def gated(ctx: Any, memberships: Any) -> bool:
        nonlocal most
        building.append(ctx.user_id)
        most = max(most, len(building))
        await gate.wait()
        building.remove(ctx.user_id)
        return await compute(ctx, memberships)

    sync._compute = gated  # type: ignore[method-assign]
    no_filter = parse_filter({})
    burst = [
        asyncio.create_task(sync.sync(f"@u{i}:test.local", "D", None, 0, False, no_filter))
        for i in range(BURST)
    ]
    try:
        await _until(lambda: len(building) == SLOTS)
        sync._compute = compute  # type: ignore[method-assign]
        since = SyncToken(0, 0)
        incremental = await sync.sync("@other:test.local", "D", since, 0, False, no_filter)
        assert "next_batch" in incremental
        assert len(building) == SLOTS
    finally:
        gate.set()
        answers = await asyncio.gather(*burst)
    assert most == SLOTS
    assert all("next_batch" in answer for answer in answers)
