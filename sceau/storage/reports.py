"""Content reports: what users reported to the server's administrators, and why."""

from dataclasses import dataclass
from typing import Any

from sceau.storage.database import Database

_COLUMNS = (
    "report_id, kind, reporter_id, room_id, event_id, target_user_id, reason, score, received_ts"
)


@dataclass(frozen=True)
class Report:
    """One report; which of room, event and target user are set depends on ``kind``."""

    report_id: str
    #: 'event', 'room' or 'user'.
    kind: str
    reporter_id: str
    room_id: str | None
    event_id: str | None
    #: The reported user, or the sender of a reported event.
    target_user_id: str | None
    reason: str | None
    score: int | None
    received_ts: int


class ReportStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, report: Report) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                f"INSERT INTO content_reports ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                report.report_id,
                report.kind,
                report.reporter_id,
                report.room_id,
                report.event_id,
                report.target_user_id,
                report.reason,
                report.score,
                report.received_ts,
            )

    async def recent(self, limit: int, before: tuple[int, str] | None = None) -> list[Report]:
        """Newest first, for an administrator; ``before`` is the (ts, id) of the last one seen."""
        sql = f"SELECT {_COLUMNS} FROM content_reports"
        params: list[Any] = []
        if before is not None:
            sql += " WHERE received_ts < ? OR (received_ts = ? AND report_id < ?)"
            params += [before[0], before[0], before[1]]
        rows = await self._db.fetchall(
            sql + " ORDER BY received_ts DESC, report_id DESC LIMIT ?", *params, limit
        )
        return [_report(row) for row in rows]

    async def event_reports(
        self, offset: int, limit: int, newest_first: bool = True
    ) -> tuple[list[Report], int]:
        """One page of event reports (the admin API's list), and how many there are."""
        total = await self._db.fetchval("SELECT COUNT(*) FROM content_reports WHERE kind = 'event'")
        direction = "DESC" if newest_first else "ASC"
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM content_reports WHERE kind = 'event'"
            f" ORDER BY received_ts {direction}, report_id {direction} LIMIT ? OFFSET ?",
            limit,
            offset,
        )
        return [_report(row) for row in rows], int(total or 0)

    async def get(self, report_id: str) -> Report | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM content_reports WHERE report_id = ?", report_id
        )
        return None if row is None else _report(row)


def _report(row: Any) -> Report:
    return Report(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        None if row[7] is None else int(row[7]),
        int(row[8]),
    )
