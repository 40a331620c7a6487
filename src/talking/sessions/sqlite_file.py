"""Sessions in an SQLite file of their own, beside an SQLite database.

On SQLite, sessions live in a file of their own beside the database (``talking.db`` ->
``talking.sessions.db``), not in the database's ``web_sessions`` table, for two reasons measured
under load (benchmarks/flow.py):

- The response writer holds the database's write lock for the whole of each batch, and under
  load it takes one batch after another, so nine in ten session writes found the lock taken and
  waited several milliseconds each. Sessions in their own file never wait for responses, and
  responses never wait for sessions.
- A session is not a survey response: the file commits with ``synchronous=NORMAL`` in WAL mode,
  so a write is not flushed to disk at once. Power loss may forget the last moments of
  residents' progress (or sign staff out); it cannot corrupt the file. Survey responses keep
  ``synchronous=FULL`` in the database itself.

Each process reads and writes that file through one plain ``sqlite3`` connection called directly
on the event loop: a lookup by key or a one-row upsert takes tens of microseconds, less than
handing a statement to aiosqlite's thread and back. The connection never waits inside SQLite
(``busy_timeout=0``): while another worker is writing, it tries again after a short asynchronous
pause, so the event loop keeps running. The file holds nothing that must be kept: the store
creates its table if missing, and deleting the file (with the service stopped) signs everyone out.

Each process also remembers the sessions it last read or wrote, and serves a resident's next
request from memory as long as the shared write stamps (``talking.sessions.stamps``) show that no
other worker has written that session since. Under load the read it saves was a tenth of a page's
CPU.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from talking.db.engine import retry_while_busy
from talking.db.models import web_sessions
from talking.sessions.stamps import SessionStamps
from talking.sessions.statements import Operations, Row, expiry_conversions, operations

# How many session values a process keeps in memory: a miss is just a read.
_KEPT_VALUES = 4_096

T = TypeVar("T")


def sessions_path(database: str) -> Path:
    """Where the sessions of an SQLite database file live: ``talking.db`` -> ``talking.sessions.db``."""
    path = Path(database)
    return path.with_name(f"{path.stem}.sessions{path.suffix or '.db'}")


def stamps_path(sessions: Path) -> Path:
    """The write stamps beside a sessions file: ``talking.sessions.db`` -> ``talking.sessions.db-stamps``
    (named as SQLite names the file's other companions, ``-wal`` and ``-shm``)."""
    return sessions.with_name(f"{sessions.name}-stamps")


class SessionFile:
    """The sessions file of an SQLite database, one plain sqlite3 connection per process (see the module notes)."""

    # The database's own web_sessions table, as SQLite would create it (talking.db.models).
    _SCHEMA = (
        str(CreateTable(web_sessions, if_not_exists=True).compile(dialect=sqlite.dialect())),
        *(
            str(CreateIndex(index, if_not_exists=True).compile(dialect=sqlite.dialect()))
            for index in web_sessions.indexes
        ),
    )
    # The shared statements, compiled once for sqlite3 with named parameters.
    _SQL = Operations(
        *(str(statement.compile(dialect=sqlite.dialect(paramstyle="named"))) for statement in operations(sqlite))
    )

    def __init__(self, path: Path, engine: AsyncEngine) -> None:
        self.path = path
        self._to_db, self._from_db = expiry_conversions(engine.dialect)
        self._connection: sqlite3.Connection | None = None
        self._stamps: SessionStamps | None = None
        self._forks = -1  # _forks_seen when the connection was opened
        # key -> (its stamp when read or written, (value, expiry) or None for no row), oldest first
        self._kept: OrderedDict[str, tuple[int, Row | None]] = OrderedDict()
        # Reads that went to the file (the rest came from memory); for tests and benchmarks.
        self.reads = 0

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SessionFile | None:
        """The sessions file of an SQLite database file; None for PostgreSQL or an in-memory database."""
        if engine.dialect.name != "sqlite":
            return None
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(sessions_path(database), engine)

    def _connect(self) -> tuple[sqlite3.Connection, SessionStamps]:
        if self._connection is not None and self._stamps is not None and self._forks == _forks_seen[0]:
            return self._connection, self._stamps
        # A new process (a forked worker) opens its own: an SQLite connection must not cross a
        # fork, nor the stamps' file lock (a child would share its parent's).
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA busy_timeout=0")
            # WAL: readers never wait for a writer, and synchronous=NORMAL cannot corrupt the file.
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"{self.path}: journal_mode is {mode}, not wal")
            connection.execute("PRAGMA synchronous=NORMAL")
            for statement in self._SCHEMA:
                connection.execute(statement)
            stamps = SessionStamps(stamps_path(self.path))
        except BaseException:
            connection.close()
            raise
        self._connection, self._stamps, self._forks = connection, stamps, _forks_seen[0]
        return connection, stamps

    async def run(self, operation: Callable[..., T], *args: Any) -> T:
        """Run one operation now; while another worker holds the write lock, retry shortly."""

        async def attempt() -> T:
            return operation(*self._connect(), *args)

        return await retry_while_busy(attempt, first_pause=0.0002)

    async def read(self, key: str) -> Row | None:
        """The stored value and expiry of ``key``: from memory while no other worker has written it."""
        kept = self._kept.get(key)
        # (A forked worker reads its parent's mapping of the same shared table until it opens its own.)
        if kept is not None and self._stamps is not None and kept[0] == self._stamps.stamp(key):
            self._kept.move_to_end(key)
            return kept[1]
        return await self.run(self._read, key)

    async def upsert(self, key: str, value: bytes, expires_at: datetime | None, sweep_before: datetime | None) -> None:
        """Insert or replace ``key``; sometimes also remove expired sessions."""
        await self.run(self._upsert, key, value, expires_at, sweep_before)

    async def renew(self, key: str, expires_at: datetime) -> None:
        """Push back the expiry of ``key``."""
        await self.run(self._renew, key, expires_at)

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        await self.run(self._delete, key)

    async def delete_all(self) -> None:
        """Remove every session."""
        await self.run(self._delete_all)

    async def close(self) -> None:
        """Close this process's connection and stamps (the next operation opens them again)."""
        connection, stamps = self._connection, self._stamps
        self._connection = self._stamps = None
        self._kept.clear()
        if self._forks == _forks_seen[0]:  # a parent's, after a fork, are the parent's to close
            if connection is not None:
                connection.close()
            if stamps is not None:
                stamps.close()

    # The operations, on this process's connection and stamps. Every write goes through
    # SessionStamps.write, so other workers stop trusting what they remember of that key; so does
    # this worker, since the stamp moves on even when the write fails.

    def _read(self, connection: sqlite3.Connection, stamps: SessionStamps, key: str) -> Row | None:
        stamp = stamps.stamp(key)  # before reading: a write after this moves it on
        self.reads += 1
        # fetchall: the statement runs to its end, so no read transaction stays open.
        rows = connection.execute(self._SQL.read, {"session_key": key}).fetchall()
        row = None if not rows else (bytes(rows[0][0]), self._from_db(rows[0][1]))
        self._keep(key, stamp, row)
        return row

    def _upsert(
        self,
        connection: sqlite3.Connection,
        stamps: SessionStamps,
        key: str,
        value: bytes,
        expires_at: datetime | None,
        sweep_before: datetime | None,
    ) -> None:
        row = {"session_key": key, "new_value": value, "new_expiry": self._to_db(expires_at)}

        def write() -> None:
            if sweep_before is None:  # one statement is a transaction of its own
                connection.execute(self._SQL.upsert, row)
                return
            with _write_transaction(connection):
                connection.execute(self._SQL.upsert, row)
                connection.execute(self._SQL.sweep, {"cutoff": self._to_db(sweep_before)})

        self._keep(key, stamps.write(key, write), (value, expires_at))

    def _renew(self, connection: sqlite3.Connection, stamps: SessionStamps, key: str, expires_at: datetime) -> None:
        # Rare (only with renew_on_access): what is kept of it has the old stamp, so the next read reads it.
        new_expiry = self._to_db(expires_at)
        stamps.write(key, lambda: connection.execute(self._SQL.renew, {"session_key": key, "new_expiry": new_expiry}))

    def _delete(self, connection: sqlite3.Connection, stamps: SessionStamps, key: str) -> None:
        self._keep(key, stamps.write(key, lambda: connection.execute(self._SQL.delete, {"session_key": key})), None)

    def _delete_all(self, connection: sqlite3.Connection, stamps: SessionStamps) -> None:
        self._kept.clear()
        stamps.write(None, lambda: connection.execute(self._SQL.delete_all))

    def _keep(self, key: str, stamp: int, row: Row | None) -> None:
        self._kept[key] = (stamp, row)
        self._kept.move_to_end(key)
        while len(self._kept) > _KEPT_VALUES:
            self._kept.popitem(last=False)


@contextmanager
def _write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; BEGIN fails at once if the lock is taken."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


# How many times this process has been forked into a child (a list, so the hook can change it).
_forks_seen = [0]


def _after_fork_in_child() -> None:
    _forks_seen[0] += 1


os.register_at_fork(after_in_child=_after_fork_in_child)
