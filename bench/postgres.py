"""Fresh PostgreSQL databases for one run, through the ``psql`` client.

Synapse refuses a database whose collation is not C, so every database is made
from template0 with C collation; Sceau gets the same kind for fairness.
"""

from __future__ import annotations

import shutil
import subprocess

HOST = "127.0.0.1"
PORT = 5432
USER = "postgres"


def _psql(sql: str) -> None:
    if shutil.which("psql") is None:
        raise RuntimeError("psql is not installed; PostgreSQL runs need it")
    subprocess.run(
        [
            "psql",
            "-h",
            HOST,
            "-p",
            str(PORT),
            "-U",
            USER,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def create_database(name: str) -> str:
    """Create an empty C-collated database and return its DSN."""
    _psql(f'DROP DATABASE IF EXISTS "{name}"')
    _psql(
        f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
    )
    return f"postgresql://{USER}@{HOST}:{PORT}/{name}"


def drop_database(name: str) -> None:
    """Drop a database made by :func:`create_database`, ignoring failures."""
    try:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except (subprocess.CalledProcessError, RuntimeError):
        pass
