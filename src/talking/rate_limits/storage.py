"""Where the rate limits' counts are kept when there is no Redis: a file beside SQLite, or a PostgreSQL table.

The ``limits`` library does the counting (its fixed-window strategy); a storage only has to add to
a count atomically and say when its window ends. ``limits`` ships storages for Redis, Memcached,
MongoDB and each process's memory, none for an SQL database, so these two speak its async
``Storage`` interface with one upsert each:

- **SQLite** (``talking.db`` -> ``talking.limits.db``): a file of its own, written through one plain
  ``sqlite3`` connection per worker on the event loop, for the reason the sessions have one
  (sessions/sqlite_file.py): the response writer holds the database's write lock through a whole
  batch, and every submission would wait behind it. ``synchronous=OFF``: a count lost to a power
  cut only lets a few more requests through. Every worker on the machine shares it.
- **PostgreSQL**: the ``rate_limit_counts`` table (migration 0006), shared by every server.

**Counted in batches.** Every request counted while the event loop goes round once is added in one
statement (``_count_waiting``): the hits are summed per key, each key's count goes up by its
sum, and the hits share the new count out in the order they came, as if each had been added on
its own. So no request is let through that one statement per request would have refused, and no
worker ever holds counts back from the others (each batch is in the shared count before any of its
requests is answered). Why: one statement per request cost the event loop's thread 15-19 us of
CPU and, since sqlite3 lets the interpreter lock go around each statement, a wait for the response
writer's thread to hand it back; under load that was a fifth of the server's throughput
(docs/architecture.md, "Limits on abuse").

Expired counts are swept now and then by the writes themselves, so neither grows without bound.
"""

from __future__ import annotations

import asyncio
import functools
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

# Adds to the counts, starting a new window for a count whose last one has ended; rows to add are
# (key, amount, the new window's end), and ``now`` follows them. Each key appears once per statement.
_ADD_COUNTS = """
INSERT INTO rate_limit_counts (key, count, expires_at) {rows}
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN rate_limit_counts.expires_at <= {now} THEN excluded.count
          ELSE rate_limit_counts.count + excluded.count END,
  expires_at = CASE WHEN rate_limit_counts.expires_at <= {now} THEN excluded.expires_at
               ELSE rate_limit_counts.expires_at END
RETURNING key, count
"""
_GET = "SELECT count, expires_at FROM rate_limit_counts WHERE key = :key"
_CLEAR = "DELETE FROM rate_limit_counts WHERE key = :key"
_RESET = "DELETE FROM rate_limit_counts"
_SWEEP = "DELETE FROM rate_limit_counts WHERE expires_at <= :now"
# The database's own table (talking.db.models), as SQLite would create it, for the file.
_SCHEMA = str(CreateTable(rate_limit_counts, if_not_exists=True).compile(dialect=sqlite.dialect()))
# About one hit in this many also deletes the counts whose windows have ended.
_SWEEP_EVERY = 1_000
# The most keys one SQLite statement adds to (3 parameters each, under the 999 of older SQLites).
_SQLITE_KEYS_PER_STATEMENT = 300

# One batch's hits: key -> (the window's length in seconds, [(amount, the hit's future), ...]).
Waiting = dict[str, tuple[int, list[tuple[int, "asyncio.Future[int]"]]]]


def limits_path(database: str) -> Path:
    """Where the counts of an SQLite database file live: ``talking.db`` -> ``talking.limits.db``."""
    path = Path(database)
    return path.with_name(f"{path.stem}.limits{path.suffix or '.db'}")


class _SqlCounts(Storage):
    """What the two SQL storages share: ``limits``' Storage answered from one table of counts, in batches."""

    STORAGE_SCHEME = None

    def __init__(self) -> None:
        super().__init__()
        self._waiting: Waiting = {}
        self._counter: asyncio.Task[None] | None = None

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What a failing storage raises (``limits`` wraps these when asked to)."""
        return (sqlite3.Error, OSError)

    @abstractmethod
    async def _execute(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run one statement on this storage's database and fetch its rows (each storage its own way)."""

    @abstractmethod
    async def _add_counts(self, rows: list[tuple[str, int, float]], now: float) -> dict[str, int]:
        """Add (key, amount, new window's end) to the counts at once; each key's count afterwards."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the count under ``key``; a new window of ``expiry`` seconds starts once the last ended.

        Returns the count as it stood just after this hit, counted with the others of its batch.
        """
        loop = asyncio.get_running_loop()
        if self._counter is not None and self._counter.get_loop() is not loop:
            self._waiting, self._counter = {}, None  # a loop that has ended (tests run many): start afresh
        future: asyncio.Future[int] = loop.create_future()
        hits = self._waiting.get(key)
        if hits is None:
            self._waiting[key] = (expiry, [(amount, future)])
        else:
            hits[1].append((amount, future))
        if self._counter is None:  # one counting task at a time; it takes whatever waits when it runs
            self._counter = loop.create_task(self._count_waiting())
        return await future

    async def _count_waiting(self) -> None:
        """Add every waiting hit to the counts, batch after batch, until none waits."""
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, {}
                try:
                    counts = await self._add_waiting(waiting)
                except Exception as exc:  # every hit of the batch hears of it: limits' caller lets them through
                    for _expiry, hits in waiting.values():
                        for _amount, future in hits:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, (_expiry, hits) in waiting.items():
                    # The hits share the key's new count out in the order they came.
                    count = counts[key] - sum(amount for amount, _future in hits)
                    for amount, future in hits:
                        count += amount
                        if not future.done():  # the request may have gone away
                            future.set_result(count)
        finally:
            self._counter = None

    async def _add_waiting(self, waiting: Waiting) -> dict[str, int]:
        """One batch's hits added, summed per key, keys in order (PostgreSQL then locks rows in one order)."""
        now = time.time()
        hits = sum(len(key_hits) for _expiry, key_hits in waiting.values())
        if random.randrange(_SWEEP_EVERY) < hits:
            await self._execute(_SWEEP, now=now)
        rows = [
            (key, sum(amount for amount, _future in key_hits), now + expiry)
            for key, (expiry, key_hits) in sorted(waiting.items())
        ]
        return await self._add_counts(rows, now)

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


@functools.lru_cache(maxsize=_SQLITE_KEYS_PER_STATEMENT)
def _sqlite_add_counts(keys: int) -> str:
    """The SQLite statement adding to this many keys' counts: the rows' parameters, then ``now`` twice."""
    return _ADD_COUNTS.format(rows="VALUES " + ", ".join(["(?, ?, ?)"] * keys), now="?")


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

    async def _add_counts(self, rows: list[tuple[str, int, float]], now: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        for start in range(0, len(rows), _SQLITE_KEYS_PER_STATEMENT):
            chunk = rows[start : start + _SQLITE_KEYS_PER_STATEMENT]
            statement = _sqlite_add_counts(len(chunk))
            parameters = [value for row in chunk for value in row] + [now, now]

            async def attempt(statement: str = statement, parameters: list[Any] = parameters) -> list[Any]:
                return self._connect().execute(statement, parameters).fetchall()

            counts.update(await retry_while_busy(attempt, first_pause=0.0002))
        return counts

    def close(self) -> None:
        """Close this process's connection."""
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


class PostgresCounts(_SqlCounts):
    """Counts in PostgreSQL's ``rate_limit_counts`` table, shared by every server."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        # Each statement is atomic on its own: in autocommit, one round trip instead of BEGIN, it and COMMIT.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """What a failing database raises through SQLAlchemy."""
        from sqlalchemy.exc import SQLAlchemyError

        return (SQLAlchemyError, OSError)

    async def _execute(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as conn:
            result = await conn.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []

    async def _add_counts(self, rows: list[tuple[str, int, float]], now: float) -> dict[str, int]:
        keys, amounts, ends = map(list, zip(*rows, strict=True))
        found = await self._execute(_POSTGRES_ADD_COUNTS, keys=keys, amounts=amounts, ends=ends, now=now)
        return dict(found)  # type: ignore[arg-type]


# One statement for any number of keys: the batch as one array per column (in the keys' order).
_POSTGRES_ADD_COUNTS = _ADD_COUNTS.format(
    rows="SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:amounts AS integer[]), CAST(:ends AS float8[]))",
    now="CAST(:now AS float8)",
)
