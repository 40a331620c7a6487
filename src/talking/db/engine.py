"""Async engines for SQLite (the embedded default) and PostgreSQL.

On SQLite a transaction that may write must take the write lock when it begins (BEGIN IMMEDIATE):
a deferred transaction that reads and then writes cannot wait for the lock (SQLite refuses the
upgrade at once with SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT once another writer has committed), which
answered concurrent staff actions with "database is locked". ``immediate(engine)`` marks an engine
whose every transaction does so; on the async engine it waits for the lock on the event loop, and
after SQLITE_BUSY_TIMEOUT_MS raises DatabaseBusy (a 503 to the client) instead of an error.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_, in_greenlet

T = TypeVar("T")

# How long an SQLite writer waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# How long a new PostgreSQL connection may take (asyncpg waits 60 s by default): a database host
# that accepts but never answers must become a 503 in seconds, not hold every request for a minute.
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
# Many requests may wait for the lock at once: each polls at most this often, to spare the CPU.
_LONGEST_REQUEST_PAUSE = 0.01


class DatabaseBusy(Exception):
    """The database's write lock stayed taken longer than a request may wait; nothing was written."""

    retry_after = 5  # seconds: what the 503 tells the client to wait before trying again


def immediate(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool), whose every transaction takes SQLite's write lock at BEGIN.

    For every transaction that may write: the request-scoped session, and writes through the engine.
    PostgreSQL ignores the option (its row locks wait by themselves).
    """
    return engine.execution_options(sqlite_immediate=True)


def create_engine(
    database_url: str, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any
) -> AsyncEngine:
    """Create the async engine, with SQLite set up for safe concurrent use by several workers."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", POSTGRES_CONNECT_TIMEOUT_SECONDS)
        return create_async_engine(url, **kwargs)

    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)
    _configure_sqlite(engine.sync_engine, sqlite_busy_timeout_ms, wait_on_loop=True)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, *, wait_on_loop: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # We issue BEGIN ourselves (below), so the driver must not open transactions behind our back.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the single writer; FULL makes every COMMIT durable before we
        # acknowledge a response (a 201 must survive kill -9 or power loss).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()
        record.info["busy_timeout_ms"] = busy_timeout_ms

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer that reads first must hold the write lock from the start: a deferred
        # transaction would fail with SQLITE_BUSY_SNAPSHOT instead of waiting its turn.
        if not conn.get_execution_options().get("sqlite_immediate", False):
            _set_busy_timeout(conn, busy_timeout_ms)  # a deferred write waits inside SQLite, as it always did
            conn.exec_driver_sql("BEGIN")
        elif wait_on_loop and in_greenlet():
            _begin_immediate_on_loop(conn, busy_timeout_ms)
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _set_busy_timeout(conn: Any, busy_timeout_ms: int) -> None:
    """Set the connection's busy timeout, unless it is set so already (a round trip to its thread saved)."""
    info = conn.connection.info
    if info.get("busy_timeout_ms") != busy_timeout_ms:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_timeout_ms}")
        info["busy_timeout_ms"] = busy_timeout_ms


def _begin_immediate_on_loop(conn: Any, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE on an aiosqlite connection, waiting for another's write lock on the event loop.

    Runs inside SQLAlchemy's greenlet (the "begin" event of an async engine's connection), so it can
    await: each try fails at once (busy_timeout=0) and the wait between tries is an asyncio sleep,
    never SQLite's busy handler, which sleeps up to 100 ms at a time on the connection's thread.
    After ``busy_timeout_ms`` it gives up with DatabaseBusy.
    """
    _set_busy_timeout(conn, 0)
    for pause in _busy_pauses(0.0005, longest=_LONGEST_REQUEST_PAUSE, within_ms=busy_timeout_ms):
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if not is_sqlite_busy(exc):
                raise
        await_(asyncio.sleep(pause))
    raise DatabaseBusy("SQLite's write lock stayed taken; nothing was written")


def writer_engine(engine: AsyncEngine) -> AsyncEngine | Engine:
    """An engine for the response writer: every transaction takes SQLite's write lock at BEGIN.

    On SQLite it is a separate, synchronous engine: the writer runs each batch's whole
    transaction in one call on its own thread, instead of handing every statement to aiosqlite's
    thread and back (about ten round trips a batch, each costing the event loop time and keeping
    the write lock held longer). Its BEGIN fails at once (busy_timeout=0) when another worker
    holds the lock, so the writer waits for it in short steps of its own on that thread
    (``retry_while_busy_sync``): SQLite's own busy handler sleeps up to 100 ms at a time, which
    made two workers slower than one.
    """
    if engine.dialect.name != "sqlite":
        return engine.execution_options(sqlite_immediate=True)
    url = engine.url.set(drivername="sqlite")
    sync = create_sync_engine(url, connect_args={"check_same_thread": False}, pool_size=1, max_overflow=0)
    _configure_sqlite(sync, busy_timeout_ms=0)
    return sync.execution_options(sqlite_immediate=True)


def is_sqlite_busy(exc: BaseException) -> bool:
    """Whether an error (sqlite3's own, or SQLAlchemy's around it) means another connection holds
    SQLite's lock: try again shortly. Extended result codes (SQLITE_BUSY_SNAPSHOT...) count too.

    Only SQLite's own result code says so (every sqlite3 error carries one since Python 3.11): a
    PostgreSQL error that happens to mention a lock is not retried."""
    code = getattr(getattr(exc, "orig", None) or exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


async def retry_while_busy(attempt: Callable[[], Awaitable[T]], *, first_pause: float) -> T:
    """Await ``attempt()``; while another process holds SQLite's write lock, try again after short
    asynchronous pauses (doubling, at most 4 ms), for up to SQLITE_BUSY_TIMEOUT_MS.

    Our connections never wait inside SQLite (its busy handler sleeps up to 100 ms at a time and
    blocks its thread): they fail at once, and the event loop waits here instead.
    """
    for pause in _busy_pauses(first_pause):
        try:
            return await attempt()
        except (sqlite3.OperationalError, OperationalError) as exc:
            if not is_sqlite_busy(exc):
                raise
        await asyncio.sleep(pause)
    return await attempt()  # the last try: its error is the caller's


def retry_while_busy_sync(attempt: Callable[[], T], *, first_pause: float) -> T:
    """``retry_while_busy`` for a thread of its own (SQLite's response writer): it sleeps between tries."""
    for pause in _busy_pauses(first_pause):
        try:
            return attempt()
        except (sqlite3.OperationalError, OperationalError) as exc:
            if not is_sqlite_busy(exc):
                raise
        time.sleep(pause)
    return attempt()


def _busy_pauses(first: float, longest: float = 0.004, within_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Iterator[float]:
    """The pauses between tries while SQLite is busy: doubling from ``first`` to at most ``longest``,
    until ``within_ms`` has passed."""
    deadline = time.monotonic() + within_ms / 1000
    pause = first
    while time.monotonic() < deadline:
        yield pause
        pause = min(pause * 2, longest)
