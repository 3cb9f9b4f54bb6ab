"""Presence: the last state each local user set, with its stream position."""

from dataclasses import dataclass

from sceau.storage.database import Database, Row, Transaction, in_clause


@dataclass(frozen=True)
class PresenceRow:
    user_id: str
    state: str
    status_msg: str | None
    last_active_ts: int
    stream_pos: int


_COLUMNS = "user_id, state, status_msg, last_active_ts, stream_pos"


def _row(row: Row) -> PresenceRow:
    return PresenceRow(str(row[0]), str(row[1]), row[2], int(row[3]), int(row[4]))


class PresenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: str) -> PresenceRow | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM presence WHERE user_id = ?", user_id)
        return None if row is None else _row(row)

    async def put(self, txn: Transaction, row: PresenceRow) -> None:
        await txn.execute(
            f"INSERT INTO presence ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,"
            " status_msg = excluded.status_msg, last_active_ts = excluded.last_active_ts,"
            " stream_pos = excluded.stream_pos",
            row.user_id,
            row.state,
            row.status_msg,
            row.last_active_ts,
            row.stream_pos,
        )

    async def changed(self, after: int, upto: int) -> list[PresenceRow]:
        """Every row written in (after, upto], whoever it belongs to."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM presence WHERE stream_pos > ? AND stream_pos <= ?",
            after,
            upto,
        )
        return [_row(row) for row in rows]

    async def for_users(
        self, user_ids: list[str], after: int | None, upto: int
    ) -> list[PresenceRow]:
        """Rows of these users written in (after, upto]; all of them when after is None."""
        found: list[PresenceRow] = []
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start : start + 500]
            sql = (
                f"SELECT {_COLUMNS} FROM presence WHERE user_id IN {in_clause(len(chunk))}"
                " AND stream_pos <= ?"
            )
            params: list[object] = [*chunk, upto]
            if after is not None:
                sql += " AND stream_pos > ?"
                params.append(after)
            found.extend(_row(row) for row in await self._db.fetchall(sql, *params))
        return found
