"""Versioned schema migrations.

Each ``schema/NNN_name.sql`` file is applied once, in order, and recorded in
``schema_version``; a database opened by a newer Sceau is upgraded in place.
Where SQL must differ per engine (full-text search), a migration is written
twice, as ``NNN_name.sqlite.sql`` and ``NNN_name.postgresql.sql``: each
database applies only its own dialect's file, under the shared number NNN.
"""

from importlib import resources

from sceau.storage.database import Database

DIALECTS = ("sqlite", "postgresql")


def _for_dialect(name: str, dialect: str) -> bool:
    """Portable files apply everywhere; ``NNN_x.<dialect>.sql`` only to that engine."""
    parts = name.split(".")
    return len(parts) < 3 or parts[-2] not in DIALECTS or parts[-2] == dialect


def _migration_files(dialect: str) -> list[tuple[int, str, str]]:
    folder = resources.files("sceau.storage") / "schema"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit() and _for_dialect(name, dialect):
            found.append((int(name[:3]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def applied_versions(db: Database) -> set[int]:
    await db.execute_script(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    rows = await db.fetchall("SELECT version FROM schema_version")
    return {int(row[0]) for row in rows}


async def migrate(db: Database) -> list[str]:
    """Apply every pending migration; return the names applied."""
    done = await applied_versions(db)
    applied = []
    for version, name, sql in _migration_files(db.dialect):
        if version in done:
            continue
        # One transaction per file: a migration is applied whole or not at all.
        await db.execute_script(
            f"BEGIN;\n{sql}\n"
            f"INSERT INTO schema_version (version, name) VALUES ({version}, '{name}');\n"
            "COMMIT;"
        )
        applied.append(name)
    return applied
