"""Rooms: version, head of the event graph, aliases, directory listing."""

from dataclasses import dataclass

from sceau.storage.database import Database, Transaction


@dataclass(frozen=True)
class RoomRecord:
    room_id: str
    room_version: str
    creator: str
    published: bool
    head_event_id: str | None
    head_depth: int
    head_state_group: int | None


class RoomStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert_room(
        self,
        txn: Transaction,
        room_id: str,
        room_version: str,
        creator: str,
        created_ts: int,
        published: bool,
    ) -> bool:
        """Create the room row; False if the ID exists already."""
        if await txn.fetchval("SELECT 1 FROM rooms WHERE room_id = ?", room_id):
            return False
        await txn.execute(
            "INSERT INTO rooms (room_id, room_version, creator, created_ts, published)"
            " VALUES (?, ?, ?, ?, ?)",
            room_id,
            room_version,
            creator,
            created_ts,
            int(published),
        )
        return True

    async def get_room(self, room_id: str, txn: Transaction | None = None) -> RoomRecord | None:
        reader = txn if txn is not None else self._db
        row = await reader.fetchone(
            "SELECT room_id, room_version, creator, published, head_event_id, head_depth,"
            " head_state_group FROM rooms WHERE room_id = ?",
            room_id,
        )
        if row is None:
            return None
        return RoomRecord(
            room_id=row[0],
            room_version=row[1],
            creator=row[2],
            published=bool(row[3]),
            head_event_id=row[4],
            head_depth=int(row[5]),
            head_state_group=None if row[6] is None else int(row[6]),
        )

    async def set_head(
        self, txn: Transaction, room_id: str, event_id: str, depth: int, state_group: int
    ) -> None:
        await txn.execute(
            "UPDATE rooms SET head_event_id = ?, head_depth = ?, head_state_group = ? WHERE room_id = ?",
            event_id,
            depth,
            state_group,
            room_id,
        )

    async def forward_extremities(
        self, room_id: str, txn: Transaction | None = None
    ) -> dict[str, int]:
        """The room's forward extremities, event ID -> depth.

        ``room_forward_extremities`` lists them while there are several; a
        room with a single one (the usual case) keeps it as its head alone,
        so extending the chain costs no write besides the head's.
        """
        rows = await self.extremity_rows(room_id, txn)
        if len(rows) > 1:
            return rows
        reader = txn if txn is not None else self._db
        row = await reader.fetchone(
            "SELECT head_event_id, head_depth FROM rooms WHERE room_id = ?", room_id
        )
        return {} if row is None or row[0] is None else {row[0]: int(row[1])}

    async def extremity_rows(self, room_id: str, txn: Transaction | None = None) -> dict[str, int]:
        """What ``room_forward_extremities`` holds for the room (see forward_extremities)."""
        reader = txn if txn is not None else self._db
        rows = await reader.fetchall(
            "SELECT f.event_id, e.depth FROM room_forward_extremities f"
            " JOIN events e ON e.event_id = f.event_id WHERE f.room_id = ?",
            room_id,
        )
        return {row[0]: int(row[1]) for row in rows}

    async def set_forward_extremities(
        self, txn: Transaction, room_id: str, rows: set[str], after: set[str]
    ) -> None:
        """Record the extremities ``after``, the table holding ``rows`` as last read.

        A single extremity is the room's head (written by set_head): the table
        is then emptied, once, and left alone while the room stays a chain.
        """
        if len(after) <= 1:
            if rows:
                await txn.execute("DELETE FROM room_forward_extremities WHERE room_id = ?", room_id)
            return
        gone = rows - after
        added = after - rows
        if gone:
            await txn.executemany(
                "DELETE FROM room_forward_extremities WHERE room_id = ? AND event_id = ?",
                [(room_id, eid) for eid in gone],
            )
        if added:
            await txn.executemany(
                "INSERT INTO room_forward_extremities (room_id, event_id) VALUES (?, ?)",
                [(room_id, eid) for eid in added],
            )

    async def set_published(self, room_id: str, published: bool) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "UPDATE rooms SET published = ? WHERE room_id = ?", int(published), room_id
            )

    async def published_rooms(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM rooms WHERE published = 1 ORDER BY room_id"
        )
        return [row[0] for row in rows]

    # ---------------------------------------------------------------- aliases

    async def insert_alias(self, txn: Transaction, alias: str, room_id: str, creator: str) -> bool:
        if await txn.fetchval("SELECT 1 FROM room_aliases WHERE alias = ?", alias):
            return False
        await txn.execute(
            "INSERT INTO room_aliases (alias, room_id, creator) VALUES (?, ?, ?)",
            alias,
            room_id,
            creator,
        )
        return True

    async def get_alias(self, alias: str) -> tuple[str, str] | None:
        """(room_id, creator) of an alias."""
        row = await self._db.fetchone(
            "SELECT room_id, creator FROM room_aliases WHERE alias = ?", alias
        )
        return None if row is None else (row[0], row[1])

    async def delete_alias(self, alias: str) -> None:
        async with self._db.transaction() as txn:
            await txn.execute("DELETE FROM room_aliases WHERE alias = ?", alias)

    async def aliases_for_room(self, room_id: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT alias FROM room_aliases WHERE room_id = ? ORDER BY alias", room_id
        )
        return [row[0] for row in rows]

    # -------------------------------------------------------------- forgetting

    async def forget(self, user_id: str, room_id: str) -> None:
        async with self._db.transaction() as txn:
            await txn.execute(
                "INSERT INTO forgotten_rooms (user_id, room_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                user_id,
                room_id,
            )

    async def unforget(self, txn: Transaction, user_id: str, room_id: str) -> None:
        await txn.execute(
            "DELETE FROM forgotten_rooms WHERE user_id = ? AND room_id = ?", user_id, room_id
        )

    async def forgotten_rooms(self, user_id: str) -> set[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM forgotten_rooms WHERE user_id = ?", user_id
        )
        return {row[0] for row in rows}
