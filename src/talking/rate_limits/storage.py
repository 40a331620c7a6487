"""Where the rate limits' counts are kept when there is no Redis: a file beside SQLite, or a PostgreSQL table.

The ``limits`` library does the counting (its fixed-window strategy); a storage only has to add to
a count atomically and say when its window ends. ``limits`` ships storages for Redis, Memcached,
MongoDB and each process's memory, none for an SQL database, so these two speak its async
``Storage`` interface with one upsert each:

- **SQLite** (``talking.db`` -> ``talking.limits.db``): a file of its own, written through one plain
  ``sqlite3`` connection per worker on the event loop (about 10-20 microseconds), for the reason the
  sessions have one (sessions/sqlite_file.py): the response writer holds the database's write lock
  through a whole batch, and every submission would wait behind it. ``synchronous=OFF``: a count
  lost to a power cut only lets a few more requests through. Every worker on the machine shares it.
- **PostgreSQL**: the ``rate_limit_counts`` table (migration 0006), shared by every server.

Expired counts are swept now and then by the writes themselves, so neither grows without bound.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any

from limits.aio.storage import Storage
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateTable

from talking.db.engine import retry_while_busy
from talking.db.models import rate_limit_counts

# One atomic statement adds to a count, starting a new window when the last one has ended.
_INCREMENT = """
INSERT INTO rate_limit_counts (key, count, expires_at) VALUES (:key, :amount, :expires_at)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN rate_limit_counts.expires_at <= :now THEN excluded.count
          ELSE rate_limit_counts.count + excluded.count END,
  expires_at = CASE WHEN rate_limit_counts.expires_at <= :now THEN excluded.expires_at
               ELSE rate_limit_counts.expires_at END
RETURNING count
"""
_GET = "SELECT count, expires_at FROM rate_limit_counts WHERE key = :key"
_CLEAR = "DELETE FROM rate_limit_counts WHERE key = :key"
_RESET = "DELETE FROM rate_limit_counts"
_SWEEP = "DELETE FROM rate_limit_counts WHERE expires_at <= :now"
# The database's own table (talking.db.models), as SQLite would create it, for the file.
_SCHEMA = str(CreateTable(rate_limit_counts, if_not_exists=True).compile(dialect=sqlite.dialect()))
# About one write in this many also deletes the counts whose windows have ended.
_SWEEP_EVERY = 1_000


def limits_path(database: str) -> Path:
    """Where the counts of an SQLite database file live: ``talking.db`` -> ``talking.limits.db``."""
    path = Path(database)
    return path.with_name(f"{path.stem}.limits{path.suffix or '.db'}")


class _SqlCounts(Storage):
    """What the two SQL storages share: ``limits``' Storage answered from one table of counts."""

    STORAGE_SCHEME = None

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What a failing storage raises (``limits`` wraps these when asked to)."""
        return (sqlite3.Error, OSError)

    @abstractmethod
    async def _execute(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run one statement on this storage's database and fetch its rows (each storage its own way)."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the count under ``key``; a new window of ``expiry`` seconds starts once the last ended."""
        now = time.time()
        if random.randrange(_SWEEP_EVERY) == 0:
            await self._execute(_SWEEP, now=now)
        rows = await self._execute(_INCREMENT, key=key, amount=amount, expires_at=now + expiry, now=now)
        return int(rows[0][0])

    async def get(self, key: str) -> int:
        """The count in the current window (0 once it has ended)."""
        rows = await self._execute(_GET, key=key)
        return int(rows[0][0]) if rows and rows[0][1] > time.time() else 0

    async def get_expiry(self, key: str) -> float:
        """When the current window ends (seconds since the epoch; now, if there is none)."""
        rows = await self._execute(_GET, key=key)
        return float(rows[0][1]) if rows else time.time()

    async def check(self) -> bool:
        """Whether the storage answers."""
        try:
            await self._execute(_GET, key="")
        except Exception:
            return False
        return True

    async def reset(self) -> int | None:
        """Forget every count."""
        await self._execute(_RESET)
        return None

    async def clear(self, key: str) -> None:
        """Forget one count."""
        await self._execute(_CLEAR, key=key)


class SQLiteFileCounts(_SqlCounts):
    """Counts in a file beside the SQLite database, shared by every worker on the machine."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._pid = -1

    def _connect(self) -> sqlite3.Connection:
        # A forked worker opens its own: an SQLite connection must not cross a fork.
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA busy_timeout=0")  # wait on the event loop, never inside SQLite
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute(_SCHEMA)
        except BaseException:
            connection.close()
            raise
        self._connection, self._pid = connection, os.getpid()
        return connection

    async def _execute(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async def attempt() -> list[tuple[Any, ...]]:
            return self._connect().execute(sql, params).fetchall()

        return await retry_while_busy(attempt, first_pause=0.0002)

    def close(self) -> None:
        """Close this process's connection."""
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


class PostgresCounts(_SqlCounts):
    """Counts in PostgreSQL's ``rate_limit_counts`` table, shared by every server."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What a failing database raises through SQLAlchemy."""
        from sqlalchemy.exc import SQLAlchemyError

        return (SQLAlchemyError, OSError)

    async def _execute(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self.engine.begin() as conn:
            result = await conn.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
