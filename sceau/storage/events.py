"""Events: the signed PDUs, their indexed columns, and client transaction IDs."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from sceau.storage.database import Database, Transaction, any_of, in_clause

EVENT_COLUMNS = "stream_pos, event_id, room_id, pdu, redacted_by, replaces_state, state_group"
_E_COLUMNS = ", ".join(f"e.{column}" for column in EVENT_COLUMNS.split(", "))


class TxnKey(NamedTuple):
    """What makes a client send a retry of another: the device and the request's path.

    The spec scopes a transaction ID to one device and one endpoint with its
    path parameters, so the room, the endpoint ("send" or "redact") and its
    other parameter (event type, or redacted event ID) are all part of it.
    """

    user_id: str
    device_id: str
    txn_id: str
    room_id: str
    endpoint: str
    path_param: str


_TXN_KEY_COLUMNS = "user_id, device_id, txn_id, room_id, endpoint, path_param"


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: its PDU plus what the server knows about it."""

    stream_pos: int
    event_id: str
    room_id: str
    pdu: dict[str, Any]
    redacted_by: str | None
    replaces_state: str | None
    state_group: int

    @property
    def type(self) -> str:
        return str(self.pdu["type"])

    @property
    def sender(self) -> str:
        return str(self.pdu["sender"])

    @property
    def state_key(self) -> str | None:
        value = self.pdu.get("state_key")
        return value if isinstance(value, str) else None

    @property
    def content(self) -> dict[str, Any]:
        content = self.pdu.get("content")
        return content if isinstance(content, dict) else {}


def row_to_event(row: Any) -> StoredEvent:
    return StoredEvent(
        stream_pos=int(row[0]),
        event_id=row[1],
        room_id=row[2],
        pdu=orjson.loads(row[3]),
        redacted_by=row[4],
        replaces_state=row[5],
        state_group=int(row[6]),
    )


def _newest_first(event: StoredEvent) -> int:
    return -event.stream_pos


@dataclass(frozen=True)
class NewEvent:
    """Everything needed to insert one event row."""

    stream_pos: int
    event_id: str
    room_id: str
    pdu: dict[str, Any]
    pdu_json: str
    state_group: int
    replaces_state: str | None
    rel_type: str | None
    relates_to: str | None


class EventStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert_events(self, txn: Transaction, events: list[NewEvent]) -> None:
        """Insert event rows in one statement (a batch of sends, a new room)."""
        await txn.executemany(
            "INSERT INTO events (stream_pos, event_id, room_id, type, state_key, sender,"
            " origin_server_ts, depth, state_group, pdu, rel_type, relates_to, replaces_state)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    event.stream_pos,
                    event.event_id,
                    event.room_id,
                    event.pdu["type"],
                    event.pdu.get("state_key"),
                    event.pdu["sender"],
                    event.pdu["origin_server_ts"],
                    event.pdu["depth"],
                    event.state_group,
                    event.pdu_json,
                    event.rel_type,
                    event.relates_to,
                    event.replaces_state,
                )
                for event in events
            ],
        )

    async def delete_state_history(
        self, txn: Transaction, event_ids: list[str], at_most: int
    ) -> None:
        """Drop the rows at or below position ``at_most`` (state history) of ``event_ids``.

        Such an event is about to be written again at its place in the room.
        """
        condition, params = any_of(self._db.dialect, "event_id", event_ids)
        await txn.execute(
            f"DELETE FROM events WHERE {condition} AND stream_pos <= ?", *params, at_most
        )

    async def invite_stripped_state(self, event_id: str) -> list[dict[str, Any]] | None:
        """The stripped state sent with an invite from another server, if it was one."""
        value = await self._db.fetchval(
            "SELECT stripped_state FROM remote_invite_state WHERE event_id = ?", event_id
        )
        return None if value is None else list(orjson.loads(value))

    async def get_event(self, event_id: str) -> StoredEvent | None:
        row = await self._db.fetchone(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ?", event_id
        )
        return None if row is None else row_to_event(row)

    async def get_events(self, event_ids: Iterable[str]) -> dict[str, StoredEvent]:
        """Events by ID; missing IDs are simply absent from the result."""
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, StoredEvent] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            condition, params = any_of(self._db.dialect, "event_id", chunk)
            rows = await self._db.fetchall(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE {condition}", *params
            )
            for row in rows:
                event = row_to_event(row)
                found[event.event_id] = event
        return found

    async def room_events(
        self,
        room_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int,
        newest_first: bool,
        types: list[str] | None = None,
    ) -> list[StoredEvent]:
        """Events of a room strictly between two stream positions, in either order."""
        clauses = ["room_id = ?"]
        params: list[Any] = [room_id]
        if after is not None:
            clauses.append("stream_pos > ?")
            params.append(after)
        if before is not None:
            clauses.append("stream_pos < ?")
            params.append(before)
        if types:
            clauses.append(f"type IN {in_clause(len(types))}")
            params.extend(types)
        order = "DESC" if newest_first else "ASC"
        rows = await self._db.fetchall(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)}"
            f" ORDER BY stream_pos {order} LIMIT ?",
            *params,
            limit,
        )
        return [row_to_event(row) for row in rows]

    async def newest_in_rooms(
        self, room_ids: list[str], *, before: int, limit: int, types: list[str] | None = None
    ) -> dict[str, list[StoredEvent]]:
        """Each room's newest ``limit`` events before ``before``, newest first.

        An initial /sync needs this for every joined room. On PostgreSQL it is
        one statement (a LATERAL index scan per room) instead of a round trip
        per room; SQLite, in process, answers the per-room query directly.
        """
        found: dict[str, list[StoredEvent]] = {room_id: [] for room_id in room_ids}
        if not room_ids:
            return found
        if self._db.dialect != "postgresql":
            for room_id in room_ids:
                found[room_id] = await self.room_events(
                    room_id, before=before, limit=limit, newest_first=True, types=types
                )
            return found
        type_clause = " AND e.type = ANY(?)" if types else ""
        rows = await self._db.fetchall(
            f"SELECT {_E_COLUMNS} FROM unnest(?::text[]) AS r(room_id)"
            f" CROSS JOIN LATERAL (SELECT {EVENT_COLUMNS} FROM events e"
            f"  WHERE e.room_id = r.room_id AND e.stream_pos < ?{type_clause}"
            "  ORDER BY e.stream_pos DESC LIMIT ?) e",
            room_ids,
            before,
            *([types] if types else []),
            limit,
        )
        for row in rows:
            event = row_to_event(row)
            found[event.room_id].append(event)
        # Sorted here, per room: an ORDER BY over all rooms' rows sorts wide
        # rows (the PDUs) and took half the statement's time.
        for events in found.values():
            events.sort(key=_newest_first)
        return found

    async def nearest_to_timestamp(
        self,
        room_id: str,
        ts: int,
        *,
        forwards: bool,
        limit: int,
        cursor: tuple[int, int] | None = None,
    ) -> list[StoredEvent]:
        """Events at or after ``ts`` (forwards) or at or before it, closest first.

        Ties on the timestamp go by stream position. ``cursor`` is the
        (timestamp, stream position) of the last event of a previous batch.
        """
        cmp, order = (">", "ASC") if forwards else ("<", "DESC")
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE room_id = ? AND origin_server_ts {cmp}= ?"
        params: list[Any] = [room_id, ts]
        if cursor is not None:
            sql += (
                f" AND (origin_server_ts {cmp} ? OR (origin_server_ts = ? AND stream_pos {cmp} ?))"
            )
            params += [cursor[0], cursor[0], cursor[1]]
        rows = await self._db.fetchall(
            sql + f" ORDER BY origin_server_ts {order}, stream_pos {order} LIMIT ?", *params, limit
        )
        return [row_to_event(row) for row in rows]

    async def rooms_with_events_between(
        self, room_ids: list[str], after: int, upto: int
    ) -> set[str]:
        """Which of these rooms have any event in (after, upto]."""
        found: set[str] = set()
        for start in range(0, len(room_ids), 500):
            chunk = room_ids[start : start + 500]
            rows = await self._db.fetchall(
                "SELECT DISTINCT room_id FROM events WHERE stream_pos > ? AND stream_pos <= ?"
                f" AND room_id IN {in_clause(len(chunk))}",
                after,
                upto,
                *chunk,
            )
            found.update(row[0] for row in rows)
        return found

    async def mark_redacted(
        self, txn: Transaction, event_id: str, redacted_by: str, redacted_pdu_json: str
    ) -> None:
        """Replace the event's content by its redacted form: the original is not kept."""
        await txn.execute(
            "UPDATE events SET pdu = ?, redacted_by = ? WHERE event_id = ?",
            redacted_pdu_json,
            redacted_by,
            event_id,
        )

    # ------------------------------------------------------- transaction IDs

    async def get_txn_events(self, keys: list[TxnKey]) -> dict[TxnKey, str]:
        """The event an earlier send made, for each key already used."""
        found: dict[TxnKey, str] = {}
        for start in range(0, len(keys), 300):
            chunk = keys[start : start + 300]
            rows = await self._db.fetchall(
                f"SELECT {_TXN_KEY_COLUMNS}, event_id FROM event_txns"
                f" WHERE ({_TXN_KEY_COLUMNS}) IN ("
                + ", ".join("(?, ?, ?, ?, ?, ?)" for _ in chunk)
                + ")",
                *(value for key in chunk for value in key),
            )
            found.update((TxnKey(*row[:6]), str(row[6])) for row in rows)
        return found

    async def get_txn_event(self, key: TxnKey) -> str | None:
        value = await self._db.fetchval(
            "SELECT event_id FROM event_txns WHERE user_id = ? AND device_id = ? AND txn_id = ?"
            " AND room_id = ? AND endpoint = ? AND path_param = ?",
            *key,
        )
        return None if value is None else str(value)

    async def insert_txns(self, txn: Transaction, rows: list[tuple[TxnKey, str, int]]) -> None:
        """Remember (key, event ID, ts) so a retried send is recognised."""
        await txn.executemany(
            f"INSERT INTO event_txns ({_TXN_KEY_COLUMNS}, event_id, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*key, event_id, ts) for key, event_id, ts in rows],
        )

    async def txn_ids_for(
        self, user_id: str, device_id: str, event_ids: list[str]
    ) -> dict[str, str]:
        """event_id -> txn_id for events this device sent (echoed to it in unsigned)."""
        if not event_ids:
            return {}
        condition, params = any_of(self._db.dialect, "event_id", event_ids)
        rows = await self._db.fetchall(
            "SELECT event_id, txn_id FROM event_txns WHERE user_id = ? AND device_id = ?"
            f" AND {condition}",
            user_id,
            device_id,
            *params,
        )
        return {row[0]: row[1] for row in rows}
