"""Room summaries: the few state values the room and user directories show.

One row per room, kept current by a persist hook as state events arrive
(``012_room_summaries`` backfills rooms created before it), so listing public
rooms or finding the public ones reads columns instead of parsing events.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sceau.storage.database import Database, Transaction, in_clause

#: State event type -> (content field, summary column). All use state key "".
SUMMARY_FIELDS: dict[str, tuple[str, str]] = {
    "m.room.create": ("type", "room_type"),
    "m.room.join_rules": ("join_rule", "join_rule"),
    "m.room.history_visibility": ("history_visibility", "history_visibility"),
    "m.room.guest_access": ("guest_access", "guest_access"),
    "m.room.name": ("name", "name"),
    "m.room.topic": ("topic", "topic"),
    "m.room.canonical_alias": ("alias", "canonical_alias"),
    "m.room.avatar": ("url", "avatar_url"),
    "m.room.encryption": ("algorithm", "encryption"),
}


@dataclass(frozen=True)
class RoomSummary:
    room_id: str
    room_type: str | None
    join_rule: str | None
    history_visibility: str | None
    guest_access: str | None
    name: str | None
    topic: str | None
    canonical_alias: str | None
    avatar_url: str | None
    joined_members: int
    encryption: str | None = None
    room_version: str | None = None


#: The columns ``_row_to_summary`` reads, from ``rooms r LEFT JOIN room_summaries s``.
_SUMMARY_SELECT = (
    "SELECT r.room_id, s.room_type, s.join_rule, s.history_visibility, s.guest_access,"
    " s.name, s.topic, s.canonical_alias, s.avatar_url,"
    " (SELECT COUNT(*) FROM current_state m WHERE m.room_id = r.room_id"
    "  AND m.type = 'm.room.member' AND m.membership = 'join'),"
    " s.encryption, r.room_version"
    " FROM rooms r LEFT JOIN room_summaries s ON s.room_id = r.room_id"
)


def _row_to_summary(row: Any) -> RoomSummary:
    return RoomSummary(
        room_id=row[0],
        room_type=row[1],
        join_rule=row[2],
        history_visibility=row[3],
        guest_access=row[4],
        name=row[5],
        topic=row[6],
        canonical_alias=row[7],
        avatar_url=row[8],
        joined_members=int(row[9]),
        encryption=row[10],
        room_version=row[11],
    )


class RoomSummaryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_field(
        self, txn: Transaction, room_id: str, column: str, value: str | None
    ) -> None:
        """Record one summary value (``column`` comes from SUMMARY_FIELDS only)."""
        if column not in {c for _, c in SUMMARY_FIELDS.values()}:
            raise ValueError(f"not a summary column: {column}")
        await txn.execute(
            f"INSERT INTO room_summaries (room_id, {column}) VALUES (?, ?)"
            f" ON CONFLICT (room_id) DO UPDATE SET {column} = excluded.{column}",
            room_id,
            value,
        )

    async def published(self) -> list[RoomSummary]:
        """Every room published in the local directory, with its joined member count."""
        rows = await self._db.fetchall(_SUMMARY_SELECT + " WHERE r.published = 1")
        return [_row_to_summary(row) for row in rows]

    async def summaries(self, room_ids: Iterable[str]) -> dict[str, RoomSummary]:
        """The summaries of these rooms; rooms this server does not know are absent."""
        ids = list(dict.fromkeys(room_ids))
        found: dict[str, RoomSummary] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._db.fetchall(
                _SUMMARY_SELECT + f" WHERE r.room_id IN {in_clause(len(chunk))}", *chunk
            )
            found.update((row[0], _row_to_summary(row)) for row in rows)
        return found

    async def join_rule(self, room_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT join_rule FROM room_summaries WHERE room_id = ?", room_id
        )
        return None if value is None else str(value)

    async def move_aliases(self, txn: Transaction, old_room_id: str, new_room_id: str) -> None:
        """Point every local alias of a room at its replacement (room upgrades)."""
        await txn.execute(
            "UPDATE room_aliases SET room_id = ? WHERE room_id = ?", new_room_id, old_room_id
        )
