"""Outcomes of PDUs received over federation, and the PDUs kept off the timeline."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from sceau.storage.database import Database, Transaction, in_clause

ACCEPTED = "accepted"
SOFT_FAILED = "soft_failed"
REJECTED = "rejected"
OUTLIER = "outlier"


@dataclass(frozen=True)
class PduOutcome:
    event_id: str
    room_id: str
    origin: str
    outcome: str
    reason: str | None
    #: The PDU, for outcomes that do not put the event in ``events``.
    pdu: dict[str, Any] | None


class ReceivedPduStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, txn: Transaction, outcomes: list[PduOutcome], now: int) -> None:
        """Record outcomes; an outlier later accepted (or refused) takes its new outcome."""
        await txn.executemany(
            "INSERT INTO received_pdus (event_id, room_id, origin, outcome, reason, pdu,"
            " received_ts) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (event_id) DO UPDATE SET outcome = excluded.outcome,"
            " reason = excluded.reason, pdu = excluded.pdu",
            [
                (
                    o.event_id,
                    o.room_id,
                    o.origin,
                    o.outcome,
                    o.reason,
                    None if o.pdu is None else orjson.dumps(o.pdu).decode(),
                    now,
                )
                for o in outcomes
            ],
        )

    async def outcomes(self, event_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._db.fetchall(
                "SELECT event_id, outcome FROM received_pdus"
                f" WHERE event_id IN {in_clause(len(chunk))}",
                *chunk,
            )
            found.update({row[0]: row[1] for row in rows})
        return found

    async def get_pdus(
        self, event_ids: Iterable[str], outcomes: tuple[str, ...] = (OUTLIER, SOFT_FAILED)
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """Kept PDUs by ID: (room_id, pdu); by default outliers and soft-failed events."""
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._db.fetchall(
                "SELECT event_id, room_id, pdu FROM received_pdus"
                f" WHERE pdu IS NOT NULL AND event_id IN {in_clause(len(chunk))}"
                f" AND outcome IN {in_clause(len(outcomes))}",
                *chunk,
                *outcomes,
            )
            for row in rows:
                found[row[0]] = (row[1], orjson.loads(row[2]))
        return found

    async def count(self, room_id: str, outcome: str) -> int:
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM received_pdus WHERE room_id = ? AND outcome = ?",
            room_id,
            outcome,
        )
        return int(value or 0)
