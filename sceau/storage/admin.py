"""Paged, filtered lists for the admin API: users and rooms, with their totals.

Pagination is by offset, as in Synapse's admin API: these lists are read by
operators, rarely and in small pages, so offset scans are cheap enough.
"""

from dataclasses import dataclass
from typing import Any

from sceau.storage.accounts import USER_COLUMNS, UserRecord, user_from_row
from sceau.storage.database import Database


@dataclass(frozen=True)
class UserQuery:
    """Filters of ``GET /_synapse/admin/v2/users``."""

    offset: int = 0
    limit: int = 100
    #: Part of the user ID or display name (case-insensitive).
    name: str | None = None
    #: Part of the user ID only (ignored when ``name`` is given).
    user_id: str | None = None
    guests: bool = True
    deactivated: bool = False
    admins: bool | None = None
    order_by: str = "name"
    backwards: bool = False


@dataclass(frozen=True)
class RoomQuery:
    """Filters of ``GET /_synapse/admin/v1/rooms``."""

    offset: int = 0
    limit: int = 100
    search_term: str | None = None
    order_by: str = "name"
    backwards: bool = False


@dataclass(frozen=True)
class RoomRow:
    """What the admin API shows about a room."""

    room_id: str
    name: str | None
    topic: str | None
    avatar: str | None
    canonical_alias: str | None
    joined_members: int
    joined_local_members: int
    version: str
    creator: str
    encryption: str | None
    public: bool
    join_rules: str | None
    guest_access: str | None
    history_visibility: str | None
    state_events: int
    room_type: str | None


#: order_by -> (column, whether "forwards" means largest first, as Synapse does).
#: Room columns are those of the ``listed`` derived table (no table prefix).
USER_ORDER = {
    "name": ("user_id", False),
    "creation_ts": ("created_ts", False),
    "admin": ("is_admin", False),
    "deactivated": ("deactivated", False),
    "is_guest": ("is_guest", False),
    "displayname": ("COALESCE(displayname, '')", False),
    "avatar_url": ("COALESCE(avatar_url, '')", False),
}
ROOM_ORDER = {
    "name": ("COALESCE(name, '')", False),
    "alphabetical": ("COALESCE(name, '')", False),
    "canonical_alias": ("COALESCE(canonical_alias, '')", False),
    "joined_members": ("joined_members", True),
    "size": ("joined_members", True),
    "joined_local_members": ("joined_local_members", True),
    "version": ("room_version", True),
    "creator": ("creator", False),
    "encryption": ("COALESCE(encryption, '')", False),
    "federatable": ("room_id", False),
    "public": ("published", True),
    "join_rules": ("COALESCE(join_rule, '')", False),
    "guest_access": ("COALESCE(guest_access, '')", False),
    "history_visibility": ("COALESCE(history_visibility, '')", False),
    "state_events": ("state_events", True),
}

_ROOM_SELECT = (
    "SELECT r.room_id, s.name, s.topic, s.avatar_url, s.canonical_alias,"
    " (SELECT COUNT(*) FROM current_state m WHERE m.room_id = r.room_id"
    "  AND m.type = 'm.room.member' AND m.membership = 'join') AS joined_members,"
    " (SELECT COUNT(*) FROM current_state m WHERE m.room_id = r.room_id"
    "  AND m.type = 'm.room.member' AND m.membership = 'join'"
    "  AND m.state_key LIKE ? ESCAPE '\\') AS joined_local_members,"
    " r.room_version, r.creator, s.encryption, r.published, s.join_rule, s.guest_access,"
    " s.history_visibility,"
    " (SELECT COUNT(*) FROM current_state c WHERE c.room_id = r.room_id) AS state_events,"
    " s.room_type"
    " FROM rooms r LEFT JOIN room_summaries s ON s.room_id = r.room_id"
)


def _like(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere, its wildcards escaped."""
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _order(column: str, largest_first: bool, backwards: bool, tiebreak: str) -> str:
    descending = largest_first != backwards
    direction = "DESC" if descending else "ASC"
    return f" ORDER BY {column} {direction}, {tiebreak} {direction}"


class AdminStore:
    def __init__(self, db: Database, server_name: str) -> None:
        self._db = db
        self._local_member = "%:" + server_name.replace("%", "\\%").replace("_", "\\_")

    async def users(self, query: UserQuery) -> tuple[list[UserRecord], int]:
        """One page of users matching ``query``, and how many match in all."""
        where: list[str] = []
        params: list[Any] = []
        if query.name:
            where.append(
                "(LOWER(user_id) LIKE ? ESCAPE '\\' OR LOWER(displayname) LIKE ? ESCAPE '\\')"
            )
            params += [_like(query.name), _like(query.name)]
        elif query.user_id:
            where.append("LOWER(user_id) LIKE ? ESCAPE '\\'")
            params.append(_like(query.user_id))
        if not query.guests:
            where.append("is_guest = 0")
        if not query.deactivated:
            where.append("deactivated = 0")
        if query.admins is not None:
            where.append("is_admin = ?")
            params.append(int(query.admins))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM users{clause}", *params)
        column, largest_first = USER_ORDER[query.order_by]
        rows = await self._db.fetchall(
            f"SELECT {USER_COLUMNS} FROM users{clause}"
            + _order(column, largest_first, query.backwards, "user_id")
            + " LIMIT ? OFFSET ?",
            *params,
            query.limit,
            query.offset,
        )
        return [user_from_row(row) for row in rows], int(total or 0)

    async def rooms(self, query: RoomQuery) -> tuple[list[RoomRow], int]:
        """One page of rooms matching ``query``, and how many match in all."""
        where = ""
        params: list[Any] = []
        if query.search_term:
            where = (
                " WHERE (LOWER(s.name) LIKE ? ESCAPE '\\'"
                " OR LOWER(s.canonical_alias) LIKE ? ESCAPE '\\'"
                " OR LOWER(r.room_id) LIKE ? ESCAPE '\\')"
            )
            params = [_like(query.search_term)] * 3
        total = await self._db.fetchval(
            "SELECT COUNT(*) FROM rooms r LEFT JOIN room_summaries s ON s.room_id = r.room_id"
            + where,
            *params,
        )
        column, largest_first = ROOM_ORDER[query.order_by]
        rows = await self._db.fetchall(
            f"SELECT * FROM ({_ROOM_SELECT}{where}) AS listed"
            + _order(column, largest_first, query.backwards, "room_id")
            + " LIMIT ? OFFSET ?",
            self._local_member,
            *params,
            query.limit,
            query.offset,
        )
        return [_room(row) for row in rows], int(total or 0)

    async def room(self, room_id: str) -> RoomRow | None:
        row = await self._db.fetchone(
            _ROOM_SELECT + " WHERE r.room_id = ?", self._local_member, room_id
        )
        return None if row is None else _room(row)


def _room(row: Any) -> RoomRow:
    return RoomRow(
        room_id=row[0],
        name=row[1],
        topic=row[2],
        avatar=row[3],
        canonical_alias=row[4],
        joined_members=int(row[5]),
        joined_local_members=int(row[6]),
        version=row[7],
        creator=row[8],
        encryption=row[9],
        public=bool(row[10]),
        join_rules=row[11],
        guest_access=row[12],
        history_visibility=row[13],
        state_events=int(row[14]),
        room_type=row[15],
    )
