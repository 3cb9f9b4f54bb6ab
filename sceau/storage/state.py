"""Room state: deduplicated history (state groups) and the current state.

A state group is the room state after some state event. It is stored as a
delta over the previous group; every ``SNAPSHOT_EVERY`` links a full snapshot
restarts the chain so that reading a group never walks far. Message events
point at an existing group and add no rows. Groups never change once written,
so reading them through a bounded cache needs no invalidation.
"""

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sceau.storage.database import Database, Transaction, any_of, in_clause

StateIds = dict[tuple[str, str], str]

SNAPSHOT_EVERY = 100


def _current_state_of(dialect: str, room_ids: list[str]) -> tuple[str, list[Any]]:
    """``FROM`` and the start of ``WHERE`` selecting current-state rows ``c`` of these rooms.

    On PostgreSQL the rooms come as an array joined to the table: the planner
    then hashes them or probes the primary key per room, where a filter
    ``room_id = ANY($1)`` on a scanned table compares every row with every
    room (10 ms instead of 0.7 ms for 100 rooms; see docs/performance.md).
    """
    if dialect == "postgresql":
        return (
            "unnest(?::text[]) AS r(room_id) JOIN current_state c ON c.room_id = r.room_id"
            " WHERE TRUE",
            [room_ids],
        )
    return f"current_state c WHERE c.room_id IN {in_clause(len(room_ids))}", list(room_ids)


@dataclass(frozen=True)
class Membership:
    room_id: str
    membership: str
    event_id: str
    stream_pos: int


class StateStore:
    CACHE_SIZE = 2048

    def __init__(self, db: Database) -> None:
        self._db = db
        self._group_cache: OrderedDict[int, StateIds] = OrderedDict()

    # ------------------------------------------------------------ state groups

    async def create_group(
        self,
        txn: Transaction,
        group_id: int,
        room_id: str,
        prev_group: int | None,
        delta: Mapping[tuple[str, str], str],
    ) -> None:
        """Record the state ``prev_group`` + ``delta`` as a new group."""
        chain_length = 0
        if prev_group is not None:
            prev_length = await txn.fetchval(
                "SELECT chain_length FROM state_groups WHERE group_id = ?", prev_group
            )
            chain_length = int(prev_length or 0) + 1
        entries: Mapping[tuple[str, str], str] = delta
        if prev_group is not None and chain_length >= SNAPSHOT_EVERY:
            entries = {**await self.get_state_ids(prev_group, txn), **delta}
            prev_group, chain_length = None, 0
        await txn.execute(
            "INSERT INTO state_groups (group_id, room_id, prev_group, chain_length)"
            " VALUES (?, ?, ?, ?)",
            group_id,
            room_id,
            prev_group,
            chain_length,
        )
        await txn.executemany(
            "INSERT INTO state_group_entries (group_id, type, state_key, event_id)"
            " VALUES (?, ?, ?, ?)",
            [(group_id, t, sk, eid) for (t, sk), eid in entries.items()],
        )

    async def get_state_ids(self, group_id: int, txn: Transaction | None = None) -> StateIds:
        """The full state of a group: (type, state_key) -> event_id. Do not mutate."""
        cached = self._group_cache.get(group_id)
        if cached is not None:
            self._group_cache.move_to_end(group_id)
            return cached
        reader: Any = txn if txn is not None else self._db
        rows = await reader.fetchall(
            "WITH RECURSIVE chain(group_id, prev_group, n) AS ("
            " SELECT group_id, prev_group, 0 FROM state_groups WHERE group_id = ?"
            " UNION ALL"
            " SELECT g.group_id, g.prev_group, c.n + 1"
            " FROM state_groups g JOIN chain c ON g.group_id = c.prev_group)"
            " SELECT e.type, e.state_key, e.event_id FROM chain c"
            " JOIN state_group_entries e ON e.group_id = c.group_id"
            " ORDER BY c.n DESC",
            group_id,
        )
        state: StateIds = {}
        for row in rows:
            state[(row[0], row[1])] = row[2]
        self._group_cache[group_id] = state
        if len(self._group_cache) > self.CACHE_SIZE:
            self._group_cache.popitem(last=False)
        return state

    async def get_state_ids_many(self, group_ids: list[int]) -> dict[int, StateIds]:
        """Several groups' full state (an initial /sync needs one per room). Do not mutate.

        Groups not in the cache are read together: on PostgreSQL in one
        recursive query for all of them, on SQLite one (in-process) query each.
        """
        found: dict[int, StateIds] = {}
        missing: list[int] = []
        for group_id in dict.fromkeys(group_ids):
            cached = self._group_cache.get(group_id)
            if cached is None:
                missing.append(group_id)
            else:
                self._group_cache.move_to_end(group_id)
                found[group_id] = cached
        if self._db.dialect != "postgresql":
            for group_id in missing:
                found[group_id] = await self.get_state_ids(group_id)
            return found
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            rows = await self._db.fetchall(
                "WITH RECURSIVE chain(start, group_id, prev_group, n) AS ("
                " SELECT group_id, group_id, prev_group, 0 FROM state_groups"
                " WHERE group_id = ANY(?)"
                " UNION ALL"
                " SELECT c.start, g.group_id, g.prev_group, c.n + 1"
                " FROM state_groups g JOIN chain c ON g.group_id = c.prev_group)"
                " SELECT c.start, e.type, e.state_key, e.event_id FROM chain c"
                " JOIN state_group_entries e ON e.group_id = c.group_id"
                " ORDER BY c.start, c.n DESC",
                chunk,
            )
            states: dict[int, StateIds] = {group_id: {} for group_id in chunk}
            for row in rows:
                states[int(row[0])][(row[1], row[2])] = row[3]
            for group_id, state in states.items():
                found[group_id] = state
                self._group_cache[group_id] = state
            while len(self._group_cache) > self.CACHE_SIZE:
                self._group_cache.popitem(last=False)
        return found

    async def count_group_rows(self, room_id: str) -> int:
        """How many state rows a room uses (for tests and operators)."""
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM state_group_entries e JOIN state_groups g"
            " ON g.group_id = e.group_id WHERE g.room_id = ?",
            room_id,
        )
        return int(value or 0)

    # ----------------------------------------------------------- current state

    async def set_current_state(
        self,
        txn: Transaction,
        room_id: str,
        event_type: str,
        state_key: str,
        event_id: str,
        membership: str | None,
        stream_pos: int,
    ) -> None:
        await txn.execute(
            "INSERT INTO current_state (room_id, type, state_key, event_id, membership, stream_pos)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (room_id, type, state_key) DO UPDATE SET"
            " event_id = excluded.event_id, membership = excluded.membership,"
            " stream_pos = excluded.stream_pos",
            room_id,
            event_type,
            state_key,
            event_id,
            membership,
            stream_pos,
        )

    async def delete_current_state(
        self, txn: Transaction, room_id: str, event_type: str, state_key: str
    ) -> None:
        """Drop a key from the current state (a state resolution that removed it)."""
        await txn.execute(
            "DELETE FROM current_state WHERE room_id = ? AND type = ? AND state_key = ?",
            room_id,
            event_type,
            state_key,
        )

    async def current_state_ids(self, room_id: str, types: list[str] | None = None) -> StateIds:
        sql = "SELECT type, state_key, event_id FROM current_state WHERE room_id = ?"
        params: list[Any] = [room_id]
        if types:
            sql += f" AND type IN {in_clause(len(types))}"
            params.extend(types)
        rows = await self._db.fetchall(sql, *params)
        return {(row[0], row[1]): row[2] for row in rows}

    async def current_state_ids_in_rooms(
        self, room_ids: list[str], types: list[str]
    ) -> dict[str, StateIds]:
        """Current state of these types in many rooms at once (rooms with none are absent)."""
        found: dict[str, StateIds] = {}
        for start in range(0, len(room_ids), 500):
            chunk = room_ids[start : start + 500]
            source, room_params = _current_state_of(self._db.dialect, chunk)
            of_types, type_params = any_of(self._db.dialect, "c.type", types)
            rows = await self._db.fetchall(
                f"SELECT c.room_id, c.type, c.state_key, c.event_id FROM {source} AND {of_types}",
                *room_params,
                *type_params,
            )
            for row in rows:
                found.setdefault(row[0], {})[(row[1], row[2])] = row[3]
        return found

    async def members_in_rooms(self, room_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """room -> (user, membership) of its joined and invited members, from the
        current state's membership column (no member event is read)."""
        found: dict[str, list[tuple[str, str]]] = {room_id: [] for room_id in room_ids}
        for start in range(0, len(room_ids), 500):
            chunk = room_ids[start : start + 500]
            source, params = _current_state_of(self._db.dialect, chunk)
            rows = await self._db.fetchall(
                f"SELECT c.room_id, c.state_key, c.membership FROM {source}"
                " AND c.type = 'm.room.member' AND c.membership IN ('join', 'invite')",
                *params,
            )
            for row in rows:
                found[row[0]].append((row[1], row[2]))
        return found

    async def current_state_event_id(
        self, room_id: str, event_type: str, state_key: str
    ) -> str | None:
        value = await self._db.fetchval(
            "SELECT event_id FROM current_state WHERE room_id = ? AND type = ? AND state_key = ?",
            room_id,
            event_type,
            state_key,
        )
        return None if value is None else str(value)

    async def membership(self, room_id: str, user_id: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT membership FROM current_state"
            " WHERE room_id = ? AND type = 'm.room.member' AND state_key = ?",
            room_id,
            user_id,
        )
        return None if value is None else str(value)

    async def rooms_for_user(
        self, user_id: str, memberships: tuple[str, ...] | None = None
    ) -> list[Membership]:
        """The user's current membership in every room they have one in."""
        sql = (
            "SELECT room_id, membership, event_id, stream_pos FROM current_state"
            " WHERE state_key = ? AND type = 'm.room.member'"
        )
        params: list[Any] = [user_id]
        if memberships:
            sql += f" AND membership IN {in_clause(len(memberships))}"
            params.extend(memberships)
        rows = await self._db.fetchall(sql, *params)
        return [Membership(row[0], row[1], row[2], int(row[3])) for row in rows]

    async def members(self, room_id: str, membership: str | None = "join") -> list[str]:
        sql = "SELECT state_key FROM current_state WHERE room_id = ? AND type = 'm.room.member'"
        params: list[Any] = [room_id]
        if membership is not None:
            sql += " AND membership = ?"
            params.append(membership)
        rows = await self._db.fetchall(sql, *params)
        return [row[0] for row in rows]

    async def users_sharing_rooms(self, user_id: str) -> set[str]:
        """Everyone joined to a room the user is joined to (the user included)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT other.state_key FROM current_state mine"
            " JOIN current_state other ON other.room_id = mine.room_id"
            " WHERE mine.type = 'm.room.member' AND mine.state_key = ? AND mine.membership = 'join'"
            " AND other.type = 'm.room.member' AND other.membership = 'join'",
            user_id,
        )
        return {row[0] for row in rows}
