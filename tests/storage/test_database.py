"""The database layer behaves the same on SQLite and PostgreSQL."""

import pytest

from sceau.errors import MatrixError
from sceau.storage.database import to_postgres_sql


def test_placeholders_become_numbered_for_postgres():
    assert to_postgres_sql("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
    )


async def test_a_failed_transaction_writes_nothing(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as txn:
            await txn.execute(
                "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", "@half:test.local", 1
            )
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 0


async def test_committed_writes_are_visible_to_later_reads(db):
    async with db.transaction() as txn:
        await txn.execute(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", "@a:test.local", 1
        )
    assert await db.fetchval("SELECT user_id FROM users") == "@a:test.local"


@pytest.mark.parametrize(
    ("user_id", "created_ts"), [("a\x00b", 1), ("@x:test.local", 2**64)], ids=["nul", "huge int"]
)
async def test_unstorable_values_are_refused_the_same_on_both_engines(db, user_id, created_ts):
    with pytest.raises(MatrixError) as caught:
        async with db.transaction() as txn:
            await txn.execute(
                "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", user_id, created_ts
            )
    assert caught.value.errcode == "M_INVALID_PARAM"
    assert await db.fetchone("SELECT * FROM users WHERE user_id = ?", user_id) is None
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 0


async def test_only_one_process_may_hold_the_writer_lock(db, backend, tmp_path):
    from sceau.storage.database import PostgresDatabase, SqliteDatabase
    from tests.conftest import PG_DSN

    assert await db.take_writer_lock()
    if backend == "postgresql":
        other = await PostgresDatabase.connect(PG_DSN, 2)
    else:
        other = SqliteDatabase(str(tmp_path / "test.db"))
    try:
        assert not await other.take_writer_lock()
        await db.close()
        assert await other.take_writer_lock()
    finally:
        await other.close()


async def test_after_commit_callbacks_run_only_once_the_transaction_commits(db):
    ran: list[str] = []
    async with db.transaction() as txn:
        txn.after_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]


async def test_after_commit_callbacks_never_run_on_rollback(db):
    ran: list[str] = []
    with pytest.raises(RuntimeError):
        async with db.transaction() as txn:
            txn.after_commit(lambda: ran.append("committed"))
            raise RuntimeError("boom")
    assert ran == []


async def test_sqlite_page_cache_is_the_size_asked_for_in_mib(tmp_path):
    from sceau.storage.database import SqliteDatabase

    small = SqliteDatabase(str(tmp_path / "small.db"), cache_mib=3)
    default = SqliteDatabase(str(tmp_path / "default.db"))
    try:
        assert await small.fetchval("PRAGMA cache_size") == -3 * 1024
        assert await default.fetchval("PRAGMA cache_size") == -8 * 1024
    finally:
        await small.close()
        await default.close()
