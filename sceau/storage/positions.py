"""The highest stream position in use, so the shared stream resumes after a restart."""

from sceau.storage.database import Database, Transaction

#: Every (table, column) that stores a position from the shared stream.
#: A storage module that adds a stream adds its table here.
STREAM_TABLES: list[tuple[str, str]] = [
    ("events", "stream_pos"),
    ("current_state", "stream_pos"),
    ("device_inbox", "stream_pos"),
    ("device_list_changes", "stream_pos"),
    ("e2e_cross_signing_keys", "stream_pos"),
    ("receipts", "stream_pos"),
    ("account_data", "stream_pos"),
    ("presence", "stream_pos"),
    ("push_rules_stream", "stream_pos"),
]


async def max_stream_position(db: Database) -> int:
    highest = 0
    for table, column in STREAM_TABLES:
        value = await db.fetchval(f"SELECT MAX({column}) FROM {table}")
        if value is not None:
            highest = max(highest, int(value))
    return highest


async def allocate_positions(db: Database, count: int) -> list[int]:
    """``count`` new positions from the shared sequence (several processes), ascending."""
    rows = await db.fetchall(
        "SELECT nextval('stream_positions') AS pos FROM generate_series(1, ?)", count
    )
    return sorted(int(row[0]) for row in rows)


async def sequence_position(db: Database) -> int:
    """The highest position the shared sequence has handed out (or been raised to).

    Raises it first to the highest position stored, so a database that one
    process served before (positions from memory) resumes past them.
    """
    stored = await max_stream_position(db)
    value = await db.fetchval(
        "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM stream_positions"
    )
    if int(value) < stored:
        await db.fetchval("SELECT setval('stream_positions', ?)", stored)
        return stored
    return int(value)


#: The advisory lock under which history positions (below the timeline) are chosen.
HISTORY_LOCK_KEY = 0x736365_6175_68


async def lock_history_positions(txn: Transaction) -> None:
    """Hold, until ``txn`` ends, the right to pick history positions (several processes).

    History positions count down from the lowest in use (a remote join's
    state, backfill, state history), read inside the writing transaction:
    two writers of different rooms must not read the same lowest one. One
    process serialises them with ``EventService.history_lock``; on PostgreSQL
    a transaction-scoped advisory lock does it across processes.
    """
    if txn.dialect == "postgresql":
        await txn.execute("SELECT pg_advisory_xact_lock(?)", HISTORY_LOCK_KEY)
