"""Push rules, pushers, and the unread-notification rows behind unread counts."""

from dataclasses import dataclass
from typing import Any

import orjson

from sceau.storage.database import Database, Transaction, in_clause
from sceau.storage.notifications import encode_actions, forget_event
from sceau.storage.unread_cache import ThreadCounts, UnreadCountCache

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class DefaultOverride:
    """A user's change to a server-default rule (None: unchanged)."""

    enabled: bool | None
    actions: list[Any] | None


@dataclass(frozen=True)
class PushAction:
    """One notifying event for one user, until a receipt clears it."""

    user_id: str
    room_id: str
    stream_pos: int
    thread_id: str
    highlight: bool
    #: What the matching push rule asked for, listed by GET /notifications.
    actions: list[Any] | None = None
    #: When the notification was made (ms).
    ts: int | None = None


class PushStore:
    def __init__(self, db: Database, unread: UnreadCountCache | None = None) -> None:
        self._db = db
        #: Shared with the receipt store, which also clears notifications.
        self.unread = unread if unread is not None else UnreadCountCache()

    # ------------------------------------------------------------- push rules

    async def user_rules(
        self, user_ids: list[str], txn: Transaction | None = None
    ) -> dict[str, dict[str, list[JsonDict]]]:
        """Each user's own rules: user -> kind -> rules in priority order."""
        reader: Any = txn if txn is not None else self._db
        found: dict[str, dict[str, list[JsonDict]]] = {u: {} for u in user_ids}
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start : start + 500]
            rows = await reader.fetchall(
                "SELECT user_id, kind, rule_json FROM push_rules"
                f" WHERE user_id IN {in_clause(len(chunk))} ORDER BY priority",
                *chunk,
            )
            for user_id, kind, rule_json in rows:
                found[user_id].setdefault(kind, []).append(orjson.loads(rule_json))
        return found

    async def default_overrides(
        self, user_ids: list[str], txn: Transaction | None = None
    ) -> dict[str, dict[str, DefaultOverride]]:
        reader: Any = txn if txn is not None else self._db
        found: dict[str, dict[str, DefaultOverride]] = {u: {} for u in user_ids}
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start : start + 500]
            rows = await reader.fetchall(
                "SELECT user_id, rule_id, enabled, actions_json FROM push_rule_defaults"
                f" WHERE user_id IN {in_clause(len(chunk))}",
                *chunk,
            )
            for user_id, rule_id, enabled, actions_json in rows:
                found[user_id][rule_id] = DefaultOverride(
                    None if enabled is None else bool(enabled),
                    None if actions_json is None else orjson.loads(actions_json),
                )
        return found

    async def set_kind_rules(
        self, txn: Transaction, user_id: str, kind: str, rules: list[JsonDict]
    ) -> None:
        """Replace the user's rules of one kind with ``rules``, in that order."""
        await txn.execute("DELETE FROM push_rules WHERE user_id = ? AND kind = ?", user_id, kind)
        await txn.executemany(
            "INSERT INTO push_rules (user_id, kind, rule_id, priority, rule_json)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (user_id, kind, rule["rule_id"], index, orjson.dumps(rule).decode())
                for index, rule in enumerate(rules)
            ],
        )

    async def set_default_override(
        self, txn: Transaction, user_id: str, rule_id: str, override: DefaultOverride
    ) -> None:
        await txn.execute(
            "INSERT INTO push_rule_defaults (user_id, rule_id, enabled, actions_json)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, rule_id) DO UPDATE SET"
            " enabled = excluded.enabled, actions_json = excluded.actions_json",
            user_id,
            rule_id,
            None if override.enabled is None else int(override.enabled),
            None if override.actions is None else orjson.dumps(override.actions).decode(),
        )

    async def mark_rules_changed(self, txn: Transaction, user_id: str, stream_pos: int) -> None:
        await txn.execute(
            "INSERT INTO push_rules_stream (user_id, stream_pos) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET stream_pos = excluded.stream_pos",
            user_id,
            stream_pos,
        )

    async def rules_changed_at(self, user_id: str) -> int | None:
        value = await self._db.fetchval(
            "SELECT stream_pos FROM push_rules_stream WHERE user_id = ?", user_id
        )
        return None if value is None else int(value)

    # ---------------------------------------------------------------- pushers

    async def pushers(self, user_id: str) -> list[JsonDict]:
        rows = await self._db.fetchall(
            "SELECT pusher_json FROM pushers WHERE user_id = ? ORDER BY created_ts, app_id",
            user_id,
        )
        return [orjson.loads(row[0]) for row in rows]

    async def upsert_pusher(
        self, txn: Transaction, user_id: str, pusher: JsonDict, created_ts: int
    ) -> None:
        await txn.execute(
            "INSERT INTO pushers (user_id, app_id, pushkey, kind, pusher_json, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET"
            " kind = excluded.kind, pusher_json = excluded.pusher_json",
            user_id,
            pusher["app_id"],
            pusher["pushkey"],
            pusher["kind"],
            orjson.dumps(pusher).decode(),
            created_ts,
        )

    async def delete_pusher(
        self, txn: Transaction, user_id: str, app_id: str, pushkey: str
    ) -> None:
        await txn.execute(
            "DELETE FROM pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            user_id,
            app_id,
            pushkey,
        )

    async def delete_pushers_of_user(self, txn: Transaction, user_id: str) -> None:
        await txn.execute("DELETE FROM pushers WHERE user_id = ?", user_id)

    async def delete_pushers_of_others(
        self, txn: Transaction, user_id: str, app_id: str, pushkey: str
    ) -> None:
        await txn.execute(
            "DELETE FROM pushers WHERE app_id = ? AND pushkey = ? AND user_id <> ?",
            app_id,
            pushkey,
            user_id,
        )

    # ------------------------------------------------------- unread counters

    async def event_pdus(self, txn: Transaction, event_ids: list[str]) -> dict[str, JsonDict]:
        found: dict[str, JsonDict] = {}
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            rows = await txn.fetchall(
                f"SELECT event_id, pdu FROM events WHERE event_id IN {in_clause(len(chunk))}",
                *chunk,
            )
            found.update((row[0], orjson.loads(row[1])) for row in rows)
        return found

    async def insert_actions(self, txn: Transaction, actions: list[PushAction]) -> None:
        deltas: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
        for action in actions:
            threads = deltas.setdefault((action.user_id, action.room_id), {})
            notes, highlights = threads.get(action.thread_id, (0, 0))
            threads[action.thread_id] = (notes + 1, highlights + int(action.highlight))
        self.unread.add(txn, deltas)
        # Users on the same rules share one actions list: encode it once.
        encoded: dict[int, str | None] = {}
        for action in actions:
            if id(action.actions) not in encoded:
                encoded[id(action.actions)] = encode_actions(action.actions)
        await txn.executemany(
            "INSERT INTO event_push_actions"
            " (user_id, room_id, stream_pos, thread_id, highlight, actions_json, ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    a.user_id,
                    a.room_id,
                    a.stream_pos,
                    a.thread_id,
                    int(a.highlight),
                    encoded[id(a.actions)],
                    a.ts,
                )
                for a in actions
            ],
        )

    async def forget_event_actions(self, txn: Transaction, room_id: str, event_id: str) -> None:
        """A redacted event no longer counts as unread, nor is listed, for anyone."""
        self.unread.invalidate_all(txn)
        await forget_event(txn, room_id, event_id)
        await txn.execute(
            "DELETE FROM event_push_actions WHERE room_id = ? AND stream_pos ="
            " (SELECT stream_pos FROM events WHERE event_id = ? AND room_id = ?)",
            room_id,
            event_id,
            room_id,
        )

    async def forget_room_actions(self, user_id: str, room_id: str) -> None:
        async with self._db.transaction() as txn:
            self.unread.invalidate(txn, [(user_id, room_id)])
            await txn.execute(
                "DELETE FROM event_push_actions WHERE user_id = ? AND room_id = ?",
                user_id,
                room_id,
            )

    async def unread_counts(self, user_id: str, room_ids: list[str]) -> dict[str, ThreadCounts]:
        """room -> thread ('main' or root) -> (notifications, highlights) not yet read."""
        found: dict[str, ThreadCounts] = {}
        missing = []
        for room_id in room_ids:
            cached = self.unread.get(user_id, room_id)
            if cached is None:
                missing.append(room_id)
            elif cached:
                found[room_id] = dict(cached)
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            read_at = self.unread.generation()
            rows = await self._db.fetchall(
                "SELECT room_id, thread_id, COUNT(*), SUM(highlight) FROM event_push_actions"
                f" WHERE user_id = ? AND room_id IN {in_clause(len(chunk))}"
                " GROUP BY room_id, thread_id",
                user_id,
                *chunk,
            )
            read: dict[str, ThreadCounts] = {room_id: {} for room_id in chunk}
            for room_id, thread_id, count, highlights in rows:
                read[room_id][thread_id] = (int(count), int(highlights or 0))
            for room_id, counts in read.items():
                self.unread.store(user_id, room_id, counts, read_at)
                if counts:
                    found[room_id] = counts
        return found
