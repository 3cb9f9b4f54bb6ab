"""The outbound queue: one worker per destination, transactions of 50 PDUs and 100 EDUs.

Items are stored before they are acknowledged locally (an event's PDU in the
transaction that persists the event), so a restart loses nothing: the
workers pick up every destination with items waiting. A destination that
fails is retried with exponential backoff (``min_retry_interval_ms`` doubling
up to ``max_retry_interval_ms``), and is caught up at once when it next
calls us. Each destination has its own worker, so one that is down or slow
never holds up another.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from sceau.clock import Clock
from sceau.config import FederationConfig
from sceau.services.federation.client import FederationClient, FederationRequestError
from sceau.services.federation.policy import FederationPolicy
from sceau.storage.database import Database, Transaction
from sceau.storage.federation_queue import DestinationState, OutboxStore

logger = logging.getLogger(__name__)

MAX_PDUS = 50
MAX_EDUS = 100


class FederationSender:
    def __init__(
        self,
        *,
        policy: FederationPolicy,
        client: FederationClient,
        db: Database,
        store: OutboxStore,
        clock: Clock,
        config: FederationConfig,
    ) -> None:
        self._policy = policy
        self._client = client
        self._db = db
        self._store = store
        self._clock = clock
        self._min_retry = config.min_retry_interval_ms
        self._max_retry = config.max_retry_interval_ms
        self._wake: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._running = False
        #: Destinations that just called us: retried without waiting out their backoff.
        self._up: set[str] = set()
        #: Items waiting, all destinations together (read by the metrics; exact once started).
        self.queued = 0
        #: Several processes: tells the one running the queue that items (how
        #: many, for which destinations) were committed here (set by the cluster wiring).
        self.on_queued_elsewhere: Callable[[list[str], int], None] | None = None
        #: Several processes: tells the one running the queue that a destination called.
        self.on_peer_up_elsewhere: Callable[[str], None] | None = None
        self._rescans: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start a worker for every destination with something waiting (after a restart)."""
        self._running = True
        self.queued = await self._store.count_all()
        for destination in await self._store.destinations():
            self._kick(destination)

    async def stop(self) -> None:
        self._running = False
        for task in list(self._rescans):
            task.cancel()
        workers = list(self._workers.values())
        self._workers.clear()
        for worker in workers:
            worker.cancel()
        for worker in workers:
            try:
                await worker
            except (asyncio.CancelledError, Exception):
                pass

    # ----------------------------------------------------------- enqueueing

    async def send_pdu(self, pdu: dict[str, Any], destinations: Iterable[str]) -> None:
        """Queue ``pdu`` for each allowed destination (durable once this returns)."""
        async with self._db.transaction() as txn:
            await self.queue_in(txn, "pdu", pdu, destinations)

    async def send_edu(self, destination: str, edu_type: str, content: dict[str, Any]) -> None:
        """Queue one EDU for ``destination`` (ignored when it is not allowed)."""
        async with self._db.transaction() as txn:
            await self.queue_in(
                txn, "edu", {"edu_type": edu_type, "content": content}, [destination]
            )

    async def queue_in(
        self, txn: Transaction, kind: str, body: dict[str, Any], destinations: Iterable[str]
    ) -> None:
        """Queue an item inside the caller's transaction; workers wake once it commits."""
        targets = sorted({d for d in destinations if self._policy.is_allowed(d)})
        if not targets:
            return
        encoded = orjson.dumps(body).decode()
        now = self._clock.time_ms()
        # IDs come from the database (a sequence shared by every process).
        rows = [(d, kind, encoded, now) for d in targets]
        await self._store.enqueue(txn, rows)

        def wake() -> None:
            if not self._running and self.on_queued_elsewhere is not None:
                self.on_queued_elsewhere(targets, len(rows))
                return
            self.wake(targets, len(rows))

        txn.after_commit(wake)

    # -------------------------------------------------------------- workers

    def wake(self, destinations: Iterable[str], count: int = 0) -> None:
        """``count`` items were committed for ``destinations`` (here or by another process)."""
        if self._running or self.on_queued_elsewhere is None:
            self.queued += count
        for destination in destinations:
            self._kick(destination)

    def rescan(self) -> None:
        """Wake every destination with items waiting: news from other processes was lost."""
        if not self._running:
            return
        task = asyncio.get_running_loop().create_task(self._rescan())
        self._rescans.add(task)
        task.add_done_callback(self._rescans.discard)

    async def _rescan(self) -> None:
        try:
            self.queued = await self._store.count_all()
            self.wake(await self._store.destinations())
        except Exception:  # the database is down: the next item or restart wakes them
            logger.exception("looking for waiting federation items failed")

    def peer_is_up(self, destination: str) -> None:
        """A request came from ``destination``: retry it now rather than after its backoff."""
        if not self._running and self.on_peer_up_elsewhere is not None:
            self.on_peer_up_elsewhere(destination)
            return
        self.retry_now(destination)

    def retry_now(self, destination: str) -> None:
        """End ``destination``'s backoff if this process runs its worker (never forwards)."""
        event = self._wake.get(destination)
        if destination in self._workers and event is not None:
            self._up.add(destination)
            event.set()

    def _kick(self, destination: str) -> None:
        if not self._running:
            return
        self._wake.setdefault(destination, asyncio.Event()).set()
        worker = self._workers.get(destination)
        if worker is None or worker.done():
            self._workers[destination] = asyncio.get_running_loop().create_task(
                self._work(destination), name=f"federation-sender-{destination}"
            )

    async def _work(self, destination: str) -> None:
        event = self._wake.setdefault(destination, asyncio.Event())
        while self._running:
            event.clear()
            # Taken before the attempt: a peer that calls while it runs (its
            # failure already recorded) must still end the backoff after it.
            force = destination in self._up
            self._up.discard(destination)
            try:
                outcome = await self.attempt(destination, force=force)
            except Exception:  # a bug must not kill the worker silently and forever
                logger.exception("federation sender for %s failed", destination)
                outcome = "error"
            if outcome == "sent":
                continue
            if outcome == "empty":
                await event.wait()
                continue
            try:
                state = await self._store.state(destination)
            except Exception:
                logger.exception("reading the retry state of %s failed", destination)
                state, outcome = None, "error"
            delay_ms = max(0, (state.retry_at_ts if state else 0) - self._clock.time_ms())
            if outcome == "error":
                delay_ms = max(delay_ms, self._min_retry)
            try:
                await asyncio.wait_for(event.wait(), timeout=max(delay_ms, 10) / 1000)
            except TimeoutError:
                pass

    async def attempt(self, destination: str, force: bool = False) -> str:
        """Send one transaction if one is due: 'sent', 'empty', 'waiting' or 'failed'."""
        state = await self._store.state(destination) or DestinationState(destination, 0, 0, 0, 0)
        now = self._clock.time_ms()
        if state.retry_at_ts > now and not force:
            return "waiting"
        pdus = await self._store.pending(destination, "pdu", MAX_PDUS)
        edus = await self._store.pending(destination, "edu", MAX_EDUS)
        if not pdus and not edus:
            return "empty"
        if not self._policy.is_allowed(destination):
            # Taken off the allowlist since queued: nothing may go there any more.
            await self._delete([i.item_id for i in pdus + edus])
            return "sent"
        txn_id = f"{now}_{state.txn_counter + 1}"
        body = {
            "origin": self._policy.server_name,
            "origin_server_ts": now,
            "pdus": [orjson.loads(i.body) for i in pdus],
            "edus": [orjson.loads(i.body) for i in edus],
        }
        try:
            answer = await self._client.request(
                "PUT", destination, f"/_matrix/federation/v1/send/{txn_id}", body=body
            )
        except FederationRequestError as exc:
            if exc.retryable:
                await self._back_off(state, str(exc))
                return "failed"
            # A definite refusal of the whole transaction: retrying cannot help.
            logger.warning("%s refused transaction %s: %s; dropped", destination, txn_id, exc)
            answer = None
        _log_pdu_errors(destination, answer)
        await self._delete([i.item_id for i in pdus + edus])
        await self._store.set_state(DestinationState(destination, 0, 0, 0, state.txn_counter + 1))
        return "sent"

    async def _delete(self, item_ids: list[int]) -> None:
        await self._store.delete(item_ids)
        self.queued = max(0, self.queued - len(item_ids))

    async def _back_off(self, state: DestinationState, reason: str) -> None:
        failures = state.failures + 1
        interval = min(self._max_retry, self._min_retry * 2 ** min(failures - 1, 40))
        logger.info(
            "sending to %s failed (%s); retry in %d ms", state.destination, reason, interval
        )
        await self._store.set_state(
            DestinationState(
                state.destination,
                failures,
                interval,
                self._clock.time_ms() + interval,
                state.txn_counter,
            )
        )

    async def pending_count(self, destination: str) -> int:
        return await self._store.count(destination)


def _log_pdu_errors(destination: str, answer: Any) -> None:
    pdus = answer.get("pdus") if isinstance(answer, dict) else None
    if not isinstance(pdus, dict):
        return
    for event_id, result in pdus.items():
        if isinstance(result, dict) and result.get("error"):
            logger.info("%s did not accept %s: %s", destination, event_id, result["error"])
