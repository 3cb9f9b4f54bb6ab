"""Shared types of the benchmark: scales, figures, per-server context."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bench.client import Client, Session, Tally

T = TypeVar("T")


@dataclass(frozen=True)
class Scale:
    """How big each workload is."""

    users: int
    concurrency: int
    rooms: int
    joiners: int
    senders: int
    msgs_per_sender: int
    paginate_events: int
    fanout_receivers: int
    fanout_rate: float
    fanout_seconds: float
    sync_rooms: int
    sync_messages: int
    sync_members: int
    sync_repeats: int
    one_time_keys: int
    key_batch: int
    longpoll_clients: int = 4
    longpoll_rate: float = 2.0
    longpoll_seconds: float = 2.0


SCALES: dict[str, Scale] = {
    "tiny": Scale(
        users=6,
        concurrency=4,
        rooms=2,
        joiners=5,
        senders=3,
        msgs_per_sender=10,
        paginate_events=30,
        fanout_receivers=4,
        fanout_rate=5,
        fanout_seconds=2,
        sync_rooms=3,
        sync_messages=3,
        sync_members=2,
        sync_repeats=2,
        one_time_keys=5,
        key_batch=3,
    ),
    "small": Scale(
        users=101,
        concurrency=10,
        rooms=10,
        joiners=60,
        senders=20,
        msgs_per_sender=50,
        paginate_events=1000,
        fanout_receivers=100,
        fanout_rate=20,
        fanout_seconds=10,
        sync_rooms=50,
        sync_messages=10,
        sync_members=5,
        sync_repeats=5,
        one_time_keys=20,
        key_batch=10,
        longpoll_clients=100,
        longpoll_seconds=10,
    ),
    "large": Scale(
        users=251,
        concurrency=20,
        rooms=30,
        joiners=250,
        senders=50,
        msgs_per_sender=40,
        paginate_events=1000,
        fanout_receivers=250,
        fanout_rate=20,
        fanout_seconds=20,
        sync_rooms=100,
        sync_messages=20,
        sync_members=10,
        sync_repeats=5,
        one_time_keys=50,
        key_batch=20,
        longpoll_clients=250,
        longpoll_seconds=20,
    ),
}


@dataclass
class Figure:
    """One number of one workload on one server."""

    value: float
    unit: str
    higher_is_better: bool = False


@dataclass
class Outcome:
    """What a workload produced on one server."""

    figures: dict[str, Figure] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failure: str | None = None
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    def latency_figures(self, label: str, samples: list[float]) -> None:
        """Record p50/p95/p99 (ms) of a latency list and keep it for the chart."""
        self.latencies[label] = samples
        for pct in (50, 95, 99):
            self.figures[f"{label} p{pct}"] = Figure(percentile(samples, pct) * 1000, "ms")

    def rate(self, label: str, count: int, seconds: float, unit: str) -> None:
        """Record a throughput figure."""
        self.figures[label] = Figure(count / seconds if seconds > 0 else 0.0, unit, True)


@dataclass
class Context:
    """Everything one server's workloads share within one run."""

    name: str
    client: Client
    tally: Tally
    scale: Scale
    pool: list[Session] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


def need_pool(ctx: Context, size: int) -> None:
    """Fail a workload up front when registration did not build enough users."""
    if len(ctx.pool) < size:
        raise RuntimeError(f"needs {size} registered users, the pool has {len(ctx.pool)}")


def percentile(samples: Iterable[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no samples."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


async def gather_all(coros: Iterable[Awaitable[T]]) -> list[T]:
    """Await all, cancelling the rest as soon as one fails (and re-raising it).

    Without this, stray requests of a failed workload would run on into the
    next one and be counted there.
    """

    async def wrap(coro: Awaitable[T]) -> T:
        return await coro

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(wrap(c)) for c in coros]
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [t.result() for t in tasks]


async def gather_limited(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run coroutine factories with at most ``limit`` in flight, keeping order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return await gather_all(one(job) for job in jobs)
