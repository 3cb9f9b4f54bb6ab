"""Per-dialect migrations, and the backfill of the search index and room summaries."""

import itertools
from typing import Any

from sceau.storage.migrations import _for_dialect, migrate

_txn = itertools.count()


def test_dialect_files_apply_only_to_their_engine():
    assert _for_dialect("001_core.sql", "sqlite")
    assert _for_dialect("001_core.sql", "postgresql")
    assert _for_dialect("011_search.sqlite.sql", "sqlite")
    assert not _for_dialect("011_search.sqlite.sql", "postgresql")
    assert _for_dialect("011_search.postgresql.sql", "postgresql")
    assert not _for_dialect("011_search.postgresql.sql", "sqlite")


async def _say(user: Any, room: str, body: str) -> str:
    sent = await user.ok(
        "PUT",
        f"/rooms/{room}/send/m.room.message/m{next(_txn)}",
        json={"msgtype": "m.text", "body": body},
    )
    return str(sent["event_id"])


async def test_migrations_backfill_existing_events_and_rooms(services, user_factory):
    """Databases created before 011/012 get their existing data indexed."""
    db = services.stores.db
    alice = await user_factory("alice")
    room = (
        await alice.ok(
            "POST", "/createRoom", json={"preset": "public_chat", "name": "Archive", "topic": "Old"}
        )
    )["room_id"]
    kept = await _say(alice, room, "backfilled sentence")
    gone = await _say(alice, room, "backfilled secret")
    await alice.ok("PUT", f"/rooms/{room}/redact/{gone}/r", json={})

    await db.execute_script(
        "DROP TABLE event_search; DROP TABLE room_summaries;"
        " DELETE FROM schema_version WHERE version IN (11, 12);"
    )
    applied = await migrate(db)
    assert [name.split(".")[0] for name in applied] == ["011_search", "012_room_summaries"]
    assert all(name.endswith(f".{db.dialect}.sql") for name in applied)

    found = await alice.ok(
        "POST",
        "/search",
        json={"search_categories": {"room_events": {"search_term": "backfilled"}}},
    )
    results = found["search_categories"]["room_events"]["results"]
    assert [r["result"]["event_id"] for r in results] == [kept]

    row = await db.fetchone(
        "SELECT name, topic, join_rule, history_visibility FROM room_summaries WHERE room_id = ?",
        room,
    )
    assert tuple(row) == ("Archive", "Old", "public", "shared")
