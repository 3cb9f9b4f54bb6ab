"""One small database interface over SQLite (embedded) and PostgreSQL.

Storage modules write SQL once, with ``?`` placeholders; the PostgreSQL engine
rewrites them to ``$n``. Every write runs in :meth:`Database.transaction`,
which commits before returning, so a write acknowledged to a client is durable.

SQLite runs synchronously on the event loop thread: its statements take
microseconds in WAL mode, far less than a hop to a worker thread would.
"""

import asyncio
import fcntl
import hashlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sceau.errors import unstorable_text

Row = Sequence[Any]
#: Told how long each one-off read ("read") and each transaction ("transaction") took.
QueryTimer = Callable[[str, float], None]


def _no_timer(_kind: str, _seconds: float) -> None:
    return None


class Transaction(Protocol):
    """Statements run inside one database transaction."""

    dialect: str

    async def execute(self, sql: str, *params: Any) -> None: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetchone(self, sql: str, *params: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *params: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *params: Any) -> Any: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (never on rollback).

        In-memory caches use it to drop what a write made stale only once
        the write is visible to every reader.
        """
        ...


class _AfterCommit:
    """The callbacks a transaction runs once its commit has succeeded."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def run_after_commit(self) -> None:
        for callback in self._callbacks:
            callback()


class Database(Protocol):
    """A connection pool that hands out transactions and runs one-off reads."""

    dialect: str

    def transaction(self) -> Any:
        """``async with db.transaction() as txn:`` commits on success, rolls back on error."""
        ...

    async def fetchone(self, sql: str, *params: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *params: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *params: Any) -> Any: ...

    async def execute_script(self, sql: str) -> None: ...

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query (GET /health)."""
        ...

    def pool_usage(self) -> tuple[int, int]:
        """(connections in use, connections in the pool), for the metrics."""
        ...

    async def take_writer_lock(self) -> bool:
        """Become the one process that writes stream positions; False if another is.

        Stream positions and in-memory caches belong to a single writer
        process, so a second server (or an admin command that writes room
        events) on the same database must not run beside it.
        """
        ...

    async def take_worker_lock(self, name: str) -> bool:
        """Be worker ``name`` of a multi-process deployment; False if it already runs,
        or if a single-process server holds the writer lock."""
        ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------- SQLite


class _SqliteTxn(_AfterCommit):
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self._conn = conn

    async def execute(self, sql: str, *params: Any) -> None:
        _refuse_nul(params)
        self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        materialised = list(rows)
        for row in materialised:
            _refuse_nul(row)
        self._conn.executemany(sql, materialised)

    async def fetchone(self, sql: str, *params: Any) -> Row | None:
        if _has_nul(params):
            return None
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetchall(self, sql: str, *params: Any) -> list[Row]:
        if _has_nul(params):
            return []
        return self._conn.execute(sql, params).fetchall()

    async def fetchval(self, sql: str, *params: Any) -> Any:
        if _has_nul(params):
            return None
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]


class SqliteDatabase:
    """One WAL-mode connection; transactions are serialised by an asyncio lock."""

    dialect = "sqlite"

    def __init__(self, path: str, cache_mib: int = 8) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9); only a power
        # loss can drop the last commits. FULL trades speed for that case.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        # Negative: KiB. Reads that miss it come from the OS page cache.
        self._conn.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
        self._lock = asyncio.Lock()
        self._reader = _SqliteTxn(self._conn)
        self._path = path
        self._writer_lock: Any = None
        self.observe_query: QueryTimer = _no_timer

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTxn]:
        async with self._lock:
            started = time.perf_counter()
            self._conn.execute("BEGIN IMMEDIATE")
            txn = _SqliteTxn(self._conn)
            try:
                yield txn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self.observe_query("transaction", time.perf_counter() - started)
        txn.run_after_commit()

    async def fetchone(self, sql: str, *params: Any) -> Row | None:
        started = time.perf_counter()
        row = await self._reader.fetchone(sql, *params)
        self.observe_query("read", time.perf_counter() - started)
        return row

    async def fetchall(self, sql: str, *params: Any) -> list[Row]:
        started = time.perf_counter()
        rows = await self._reader.fetchall(sql, *params)
        self.observe_query("read", time.perf_counter() - started)
        return rows

    async def fetchval(self, sql: str, *params: Any) -> Any:
        started = time.perf_counter()
        value = await self._reader.fetchval(sql, *params)
        self.observe_query("read", time.perf_counter() - started)
        return value

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")

    def pool_usage(self) -> tuple[int, int]:
        """One connection, in use while a transaction holds it."""
        return (1 if self._lock.locked() else 0), 1

    async def execute_script(self, sql: str) -> None:
        async with self._lock:
            self._conn.executescript(sql)

    async def take_writer_lock(self) -> bool:
        if self._writer_lock is not None:
            return True
        handle = open(self._path + ".lock", "a")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._writer_lock = handle
        return True

    async def take_worker_lock(self, name: str) -> bool:
        """SQLite serves one process: there are no workers."""
        return False

    async def close(self) -> None:
        self._conn.close()
        if self._writer_lock is not None:
            self._writer_lock.close()
            self._writer_lock = None


# ----------------------------------------------------------------- PostgreSQL

_PLACEHOLDER = re.compile(r"\?")
_pg_sql_cache: dict[str, str] = {}


def to_postgres_sql(sql: str) -> str:
    """Rewrite ``?`` placeholders to ``$1, $2, ...`` (SQL here never has ``?`` in literals)."""
    cached = _pg_sql_cache.get(sql)
    if cached is None:
        counter = iter(range(1, 10_000))
        cached = _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)
        if len(_pg_sql_cache) < 4096:
            _pg_sql_cache[sql] = cached
    return cached


_INT64 = range(-(2**63), 2**63)


def _has_nul(params: Sequence[Any]) -> bool:
    """True for values no column can hold: text with NUL, integers beyond 64 bits."""
    for param in params:
        if isinstance(param, str):
            if "\x00" in param:
                return True
        elif isinstance(param, int) and param not in _INT64:
            return True
    return False


def _refuse_nul(params: Sequence[Any]) -> None:
    """Refuse unstorable values as bad input, the same way on both engines."""
    if _has_nul(params):
        raise unstorable_text()


class _PostgresTxn(_AfterCommit):
    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        super().__init__()
        self._conn = conn

    async def execute(self, sql: str, *params: Any) -> None:
        _refuse_nul(params)
        await self._conn.execute(to_postgres_sql(sql), *params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        materialised = list(rows)
        for row in materialised:
            _refuse_nul(row)
        await self._conn.executemany(to_postgres_sql(sql), materialised)

    async def fetchone(self, sql: str, *params: Any) -> Row | None:
        if _has_nul(params):
            return None
        row: Row | None = await self._conn.fetchrow(to_postgres_sql(sql), *params)
        return row

    async def fetchall(self, sql: str, *params: Any) -> list[Row]:
        if _has_nul(params):
            return []
        rows: list[Row] = await self._conn.fetch(to_postgres_sql(sql), *params)
        return rows

    async def fetchval(self, sql: str, *params: Any) -> Any:
        if _has_nul(params):
            return None
        return await self._conn.fetchval(to_postgres_sql(sql), *params)


#: Advisory-lock key of the writer process ("sceau" in ASCII).
WRITER_LOCK_KEY = 0x736365_6175


async def _keep_session(_conn: Any) -> None:
    """Skip asyncpg's reset round trip on release: Sceau sets no session state
    (no LISTEN, advisory locks, cursors or SET), so there is nothing to undo."""


class PostgresDatabase:
    """An asyncpg pool."""

    dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._lock_conn: Any = None
        self.observe_query: QueryTimer = _no_timer

    @classmethod
    async def connect(
        cls, dsn: str, pool_size: int, schema: str | None = None
    ) -> "PostgresDatabase":
        """Open a pool; ``schema`` (tests) puts every table in its own namespace."""
        import asyncpg

        settings = {"search_path": schema} if schema else None
        pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=pool_size,
            server_settings=settings,
            reset=_keep_session,
        )
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTxn]:
        async with self._pool.acquire() as conn:
            started = time.perf_counter()
            txn = _PostgresTxn(conn)
            async with conn.transaction():
                yield txn
            self.observe_query("transaction", time.perf_counter() - started)
            txn.run_after_commit()

    # A look-up by a value holding NUL finds nothing: no stored text can hold it.

    async def fetchone(self, sql: str, *params: Any) -> Row | None:
        if _has_nul(params):
            return None
        started = time.perf_counter()
        row: Row | None = await self._pool.fetchrow(to_postgres_sql(sql), *params)
        self.observe_query("read", time.perf_counter() - started)
        return row

    async def fetchall(self, sql: str, *params: Any) -> list[Row]:
        if _has_nul(params):
            return []
        started = time.perf_counter()
        rows: list[Row] = await self._pool.fetch(to_postgres_sql(sql), *params)
        self.observe_query("read", time.perf_counter() - started)
        return rows

    async def fetchval(self, sql: str, *params: Any) -> Any:
        if _has_nul(params):
            return None
        started = time.perf_counter()
        value = await self._pool.fetchval(to_postgres_sql(sql), *params)
        self.observe_query("read", time.perf_counter() - started)
        return value

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")

    def pool_usage(self) -> tuple[int, int]:
        """Connections handed out (the writer lock's included) and the pool's size now."""
        size = int(self._pool.get_size())
        return size - int(self._pool.get_idle_size()), int(self._pool.get_max_size())

    async def execute_script(self, sql: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(sql)

    async def take_writer_lock(self) -> bool:
        if self._lock_conn is not None:
            return True
        conn = await self._pool.acquire()
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", WRITER_LOCK_KEY):
            await self._pool.release(conn)
            return False
        # The session-level lock lives as long as this connection, kept out of the pool.
        self._lock_conn = conn
        return True

    async def take_worker_lock(self, name: str) -> bool:
        if self._lock_conn is not None:
            return True
        conn = await self._pool.acquire()
        # Shared with every worker, exclusive with a single-process server.
        shared = await conn.fetchval("SELECT pg_try_advisory_lock_shared($1)", WRITER_LOCK_KEY)
        key = int.from_bytes(hashlib.sha256(b"sceau-worker:" + name.encode()).digest()[:8], "big")
        own = shared and await conn.fetchval("SELECT pg_try_advisory_lock($1)", key - 2**63)
        if not own:
            await conn.execute("SELECT pg_advisory_unlock_all()")
            await self._pool.release(conn)
            return False
        self._lock_conn = conn
        return True

    async def close(self) -> None:
        if self._lock_conn is not None:
            await self._pool.release(self._lock_conn)
            self._lock_conn = None
        await self._pool.close()


def in_clause(count: int) -> str:
    """``(?, ?, ?)`` for an IN list of ``count`` values (count must be >= 1)."""
    return "(" + ", ".join("?" * count) + ")"


def any_of(dialect: str, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column`` is one of ``values``: the SQL condition and its parameters.

    PostgreSQL gets ``column = ANY(?)`` with one array parameter, so every
    count of values is the same prepared statement (an ``IN`` list of a new
    length costs asyncpg an extra prepare round trip and a cache slot).
    SQLite, which has no arrays, gets ``IN (?, ...)`` (``values`` not empty).
    """
    if dialect == "postgresql":
        return f"{column} = ANY(?)", [list(values)]
    return f"{column} IN {in_clause(len(values))}", list(values)
