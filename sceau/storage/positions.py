"""The highest stream position in use, so the shared stream resumes after a restart."""

from sceau.storage.database import Database

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
