"""Periodic background jobs (renewal emails, clean-ups): started by ``sceau serve`` only.

Services register a coroutine and an interval; tests call the coroutine
directly (with a fake clock) instead of waiting for the loop. A job that fails
is logged and tried again at its next turn: one bad run never stops the loop.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Job


class PeriodicJobs:
    """The server's periodic jobs; ``start`` runs each in its own task."""

    def __init__(self) -> None:
        self._jobs: list[PeriodicJob] = []
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, interval_s: float, run: Job) -> None:
        self._jobs.append(PeriodicJob(name, interval_s, run))

    @property
    def names(self) -> list[str]:
        return [job.name for job in self._jobs]

    def start(self) -> None:
        for job in self._jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"job:{job.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            try:
                await job.run()
            except Exception:
                logger.exception("background job %s failed; it runs again later", job.name)
            await asyncio.sleep(job.interval_s)
