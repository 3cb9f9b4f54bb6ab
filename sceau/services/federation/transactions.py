"""Inbound transactions (``PUT /send/{txnId}``): idempotent, one at a time per origin.

The answer to each (origin, transaction ID) is stored, so a server that
retries a transaction (its first answer lost) gets the same answer and
nothing is processed twice. PDUs go to the room event graph's
:class:`~sceau.services.federation.interfaces.PduReceiver`; EDUs to the
services that own them.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson

from sceau.clock import Clock
from sceau.errors import MatrixError, bad_json
from sceau.services.federation.inbound_edus import InboundEdus
from sceau.services.federation.interfaces import PduReceiver, event_id_of
from sceau.storage.federation import ReceivedTransactionStore

logger = logging.getLogger(__name__)

MAX_PDUS = 50
MAX_EDUS = 100


class InboundTransactions:
    def __init__(
        self,
        *,
        clock: Clock,
        store: ReceivedTransactionStore,
        edus: InboundEdus,
        receiver: Callable[[], PduReceiver],
    ) -> None:
        self._clock = clock
        self._store = store
        self._edus = edus
        self._receiver = receiver
        self._locks: dict[str, asyncio.Lock] = {}

    async def receive(self, origin: str, txn_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Process one transaction and return the spec's ``{"pdus": {...}}`` answer."""
        pdus = body.get("pdus")
        edus = body.get("edus", [])
        if not isinstance(pdus, list):
            raise bad_json("'pdus' must be a list")
        if edus is None:
            edus = []
        if not isinstance(edus, list):
            raise bad_json("'edus' must be a list")
        if len(pdus) > MAX_PDUS or len(edus) > MAX_EDUS:
            raise bad_json(f"a transaction holds at most {MAX_PDUS} PDUs and {MAX_EDUS} EDUs")
        if body.get("origin", origin) != origin:
            raise bad_json("'origin' is not the server that signed the request")
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            done = await self._store.get(origin, txn_id)
            if done is not None:
                return orjson.loads(done)  # type: ignore[no-any-return]
            answer = {"pdus": await self._pdus(origin, pdus)}
            for edu in edus:
                await self._edus.handle(origin, edu)
            await self._store.put(
                origin, txn_id, orjson.dumps(answer).decode(), self._clock.time_ms()
            )
        return answer

    async def _pdus(self, origin: str, pdus: list[Any]) -> dict[str, dict[str, str]]:
        if not pdus:
            return {}
        try:
            results = await self._receiver().receive_pdus(origin, pdus)
        except Exception as exc:
            if isinstance(exc, MatrixError) and exc.status == 503:
                # A room's writer (another process) is unreachable: answer 503,
                # record nothing, and the origin sends the transaction again.
                raise
            logger.exception("the PDU receiver failed on a transaction from %s", origin)
            results = {event_id_of(p, i): "Internal error" for i, p in enumerate(pdus)}
        return {
            event_id: ({} if error is None else {"error": error})
            for event_id, error in results.items()
        }
