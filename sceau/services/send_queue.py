"""Group commit: sends to one room queue up and are written together.

Events of a room are written one batch at a time under the room's lock, so
the room's extremities and state change in one place at a time. While one batch is being written, new
sends to that room wait in a queue; the next drain takes them all at once and
writes them in a single transaction. Under load a room then commits many
events per database round trip instead of one, and a quiet room still
commits each send immediately.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass
class PendingSend(Generic[Item]):
    """One queued send, and the future its caller awaits (the new event's ID)."""

    item: Item
    outcome: "asyncio.Future[str]"

    def succeed(self, event_id: str) -> None:
        if not self.outcome.done():
            self.outcome.set_result(event_id)

    def fail(self, exc: BaseException) -> None:
        if not self.outcome.done():
            self.outcome.set_exception(exc)


#: Writes a batch in one transaction, settling each send; raises if nothing was written.
BatchWriter = Callable[[str, list[PendingSend[Item]]], Awaitable[None]]


class SendQueue(Generic[Item]):
    """Per-room queues drained in batches, each batch under the room's lock."""

    def __init__(self, lock_for: Callable[[str], asyncio.Lock], write: BatchWriter[Item]) -> None:
        self._lock_for = lock_for
        self._write = write
        self._queues: dict[str, list[PendingSend[Item]]] = {}
        self._drains: set[asyncio.Task[None]] = set()

    async def submit(self, room_id: str, item: Item) -> str:
        """Queue a send and wait for its event ID (or its error).

        The write runs in a drain task of its own, so a caller that goes
        away (a closed connection) cannot cancel the other senders' events.
        """
        pending = PendingSend(item, asyncio.get_running_loop().create_future())
        queue = self._queues.get(room_id)
        if queue is not None:
            queue.append(pending)
        else:
            self._queues[room_id] = [pending]
            drain = asyncio.create_task(self._drain(room_id))
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        return await asyncio.shield(pending.outcome)

    async def _drain(self, room_id: str) -> None:
        async with self._lock_for(room_id):
            batch = self._queues.pop(room_id, [])
            try:
                await self._write_batch(room_id, batch)
            except BaseException as exc:
                for pending in batch:
                    pending.fail(exc)
                raise

    async def _write_batch(self, room_id: str, batch: list[PendingSend[Item]]) -> None:
        """Write the batch together; if that fails, write its sends one at a time.

        A failed batch wrote nothing, and retrying alone lets one bad event
        fail without sinking the others.
        """
        if len(batch) > 1:
            try:
                await self._write(room_id, batch)
                return
            except Exception:
                pass
        for pending in batch:
            if pending.outcome.done():
                continue
            try:
                await self._write(room_id, [pending])
            except Exception as exc:
                pending.fail(exc)
