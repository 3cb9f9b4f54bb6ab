"""Relations between events: children of an event, threads, and aggregations.

Relations live in the ``rel_type``/``relates_to`` columns of ``events``. A
redacted child has lost its ``m.relates_to``, so it no longer counts: every
query here skips rows with ``redacted_by`` set. Aggregation reads take a
list of parents and answer for all of them in one statement.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sceau.storage.database import Database, any_of, in_clause
from sceau.storage.events import EVENT_COLUMNS, StoredEvent, row_to_event

_E_COLUMNS = ", ".join("e." + c.strip() for c in EVENT_COLUMNS.split(","))

#: How many levels ``recurse`` follows (the spec leaves the bound to servers).
MAX_RECURSION_DEPTH = 3

CHUNK = 500


@dataclass(frozen=True)
class ThreadSummary:
    root_id: str
    count: int
    latest_pos: int
    #: The viewer sent the root or a reply.
    participated: bool


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]


class RelationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def children(
        self,
        room_id: str,
        parent_id: str,
        *,
        rel_type: str | None,
        event_type: str | None,
        after: int | None,
        before: int | None,
        limit: int,
        newest_first: bool,
        recurse: bool = False,
    ) -> list[StoredEvent]:
        """Events relating to ``parent_id`` strictly between two stream positions."""
        params: list[Any] = []
        if recurse:
            prefix = (
                "WITH RECURSIVE tree(event_id, depth) AS ("
                " SELECT event_id, 1 FROM events WHERE relates_to = ? AND room_id = ?"
                " AND redacted_by IS NULL"
                " UNION ALL"
                " SELECT c.event_id, t.depth + 1 FROM events c JOIN tree t"
                " ON c.relates_to = t.event_id"
                f" WHERE t.depth < {MAX_RECURSION_DEPTH} AND c.room_id = ?"
                " AND c.redacted_by IS NULL) "
            )
            params += [parent_id, room_id, room_id]
            clauses = ["e.event_id IN (SELECT event_id FROM tree)"]
        else:
            prefix = ""
            clauses = ["e.relates_to = ?", "e.room_id = ?", "e.redacted_by IS NULL"]
            params += [parent_id, room_id]
        if rel_type is not None:
            clauses.append("e.rel_type = ?")
            params.append(rel_type)
        if event_type is not None:
            clauses.append("e.type = ?")
            params.append(event_type)
        if after is not None:
            clauses.append("e.stream_pos > ?")
            params.append(after)
        if before is not None:
            clauses.append("e.stream_pos < ?")
            params.append(before)
        order = "DESC" if newest_first else "ASC"
        rows = await self._db.fetchall(
            f"{prefix}SELECT {_E_COLUMNS} FROM events e WHERE {' AND '.join(clauses)}"
            f" ORDER BY e.stream_pos {order} LIMIT ?",
            *params,
            limit,
        )
        return [row_to_event(row) for row in rows]

    async def relation_kinds(self, event_ids: Sequence[str]) -> dict[str, set[str]]:
        """event -> the relation types pointing at it (most events have none)."""
        kinds: dict[str, set[str]] = {}
        for chunk in _chunks(event_ids):
            if self._db.dialect == "postgresql":
                # One index probe per event: with ``relates_to = ANY($1)`` and no
                # statistics (a fresh database, autovacuum off) the planner scans
                # the whole table, comparing every row with every ID.
                rows = await self._db.fetchall(
                    "SELECT DISTINCT r.relates_to, r.rel_type FROM unnest(?::text[]) AS t(id)"
                    " CROSS JOIN LATERAL (SELECT relates_to, rel_type FROM events"
                    "  WHERE relates_to = t.id AND redacted_by IS NULL OFFSET 0) r",
                    list(chunk),
                )
            else:
                condition, params = any_of(self._db.dialect, "relates_to", chunk)
                rows = await self._db.fetchall(
                    "SELECT DISTINCT relates_to, rel_type FROM events"
                    f" WHERE {condition} AND redacted_by IS NULL",
                    *params,
                )
            for row in rows:
                kinds.setdefault(row[0], set()).add(row[1])
        return kinds

    async def latest_edits(self, parent_ids: Sequence[str]) -> dict[str, StoredEvent]:
        """parent -> its valid replacement with the latest timestamp (ties: highest ID).

        A replacement counts only if it has the parent's sender and type, neither
        is a state event, and the parent is not itself a replacement.
        """
        found: dict[str, StoredEvent] = {}
        for chunk in _chunks(parent_ids):
            rows = await self._db.fetchall(
                f"SELECT parent_id, {EVENT_COLUMNS} FROM ("
                f" SELECT e.relates_to AS parent_id, {_E_COLUMNS}, ROW_NUMBER() OVER ("
                "  PARTITION BY e.relates_to"
                "  ORDER BY e.origin_server_ts DESC, e.event_id DESC) AS n"
                " FROM events e JOIN events p ON p.event_id = e.relates_to"
                f" WHERE e.relates_to IN {in_clause(len(chunk))} AND e.rel_type = 'm.replace'"
                " AND e.redacted_by IS NULL AND p.redacted_by IS NULL"
                " AND e.room_id = p.room_id AND e.sender = p.sender AND e.type = p.type"
                " AND e.state_key IS NULL AND p.state_key IS NULL"
                " AND (p.rel_type IS NULL OR p.rel_type <> 'm.replace')"
                ") ranked WHERE n = 1",
                *chunk,
            )
            for row in rows:
                found[row[0]] = row_to_event(row[1:])
        return found

    async def thread_summaries(
        self, root_ids: Sequence[str], viewer: str | None
    ) -> dict[str, ThreadSummary]:
        """root -> reply count, latest reply position, and whether the viewer took part."""
        found: dict[str, ThreadSummary] = {}
        for chunk in _chunks(root_ids):
            rows = await self._db.fetchall(
                "SELECT t.relates_to, COUNT(*), MAX(t.stream_pos),"
                " MAX(CASE WHEN t.sender = ? OR r.sender = ? THEN 1 ELSE 0 END)"
                " FROM events t JOIN events r ON r.event_id = t.relates_to"
                f" WHERE t.relates_to IN {in_clause(len(chunk))} AND t.rel_type = 'm.thread'"
                " AND t.redacted_by IS NULL AND t.room_id = r.room_id"
                " GROUP BY t.relates_to",
                viewer or "",
                viewer or "",
                *chunk,
            )
            for row in rows:
                found[row[0]] = ThreadSummary(row[0], int(row[1]), int(row[2]), bool(row[3]))
        return found

    async def references(self, parent_ids: Sequence[str]) -> dict[str, list[str]]:
        """parent -> IDs of the events that reference it, oldest first."""
        found: dict[str, list[str]] = {}
        for chunk in _chunks(parent_ids):
            rows = await self._db.fetchall(
                "SELECT relates_to, event_id FROM events"
                f" WHERE relates_to IN {in_clause(len(chunk))} AND rel_type = 'm.reference'"
                " AND redacted_by IS NULL ORDER BY stream_pos",
                *chunk,
            )
            for row in rows:
                found.setdefault(row[0], []).append(row[1])
        return found

    async def events_at(self, positions: Sequence[int]) -> dict[int, StoredEvent]:
        """Events by stream position (thread summaries name their latest reply so)."""
        wanted = list(dict.fromkeys(positions))
        found: dict[int, StoredEvent] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            rows = await self._db.fetchall(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_pos IN {in_clause(len(chunk))}",
                *chunk,
            )
            for row in rows:
                event = row_to_event(row)
                found[event.stream_pos] = event
        return found

    async def threads(
        self,
        room_id: str,
        *,
        before: int | None,
        limit: int,
        participant: str | None,
    ) -> list[tuple[str, int]]:
        """(root ID, latest reply position) of the room's threads, latest activity first.

        ``before`` keeps threads whose latest reply is below that position;
        ``participant`` keeps threads that user started or replied to.
        """
        params: list[Any] = [room_id]
        having = []
        if before is not None:
            having.append("MAX(t.stream_pos) < ?")
            params.append(before)
        if participant is not None:
            having.append("(MAX(CASE WHEN t.sender = ? THEN 1 ELSE 0 END) = 1 OR r.sender = ?)")
            params += [participant, participant]
        having_sql = f" HAVING {' AND '.join(having)}" if having else ""
        rows = await self._db.fetchall(
            "SELECT t.relates_to, MAX(t.stream_pos) AS latest"
            " FROM events t JOIN events r ON r.event_id = t.relates_to AND r.room_id = t.room_id"
            " WHERE t.room_id = ? AND t.rel_type = 'm.thread' AND t.redacted_by IS NULL"
            f" GROUP BY t.relates_to, r.sender{having_sql}"
            " ORDER BY latest DESC LIMIT ?",
            *params,
            limit,
        )
        return [(row[0], int(row[1])) for row in rows]
