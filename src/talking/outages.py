"""When something the service depends on is out of reach: the database or the session store.

An outage is not a bug. A request that meets one gets 503 with ``Retry-After`` (problems.py
answers it), not a 500, and the log gets one line per kind of failure per interval instead of a
traceback per request: with PostgreSQL stopped for 5 s, tracebacks made 128,000 log lines in 6 s.

``outage_of`` tells an outage from any other error by walking the exception's causes: a driver's
error is often wrapped (SQLAlchemy's ``DBAPIError``) or raised bare (asyncpg's
``ConnectionRefusedError`` on connect). ``note_outage`` logs it, throttled; ``OutageLogThrottle``
does the same for libraries' own log lines (asyncpg's pool, SQLAlchemy's), which we do not write.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import redis.exceptions
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

# What clients are told to wait before trying again, in seconds (the Retry-After header): long
# enough for a restart or failover to finish, short enough that a resident's next tap works.
RETRY_AFTER_SECONDS = 5
# One log line per kind of outage per this many seconds; the line counts the ones left out.
LOG_INTERVAL_SECONDS = 10.0

DATABASE = "database"
SESSIONS = "sessions"

# SQLite's primary result codes that mean "the file cannot be used right now", not "this query is wrong".
_SQLITE_OUTAGE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,  # another process holds the lock beyond our wait
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_CANTOPEN,  # missing directory, no permission, a directory where the file should be
        sqlite3.SQLITE_FULL,  # disk full
        sqlite3.SQLITE_IOERR,  # disk I/O error
        sqlite3.SQLITE_READONLY,  # read-only file or file system
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_CORRUPT,
    }
)

# asyncpg's errors that mean the server or the connection is gone or refusing: connection
# exceptions (SQLSTATE class 08), the server shutting down or starting up (57P01-57P03),
# too many connections or no disk (class 53), and a connection whose protocol state was broken by a
# terminated backend ("cannot switch to state 12; another operation is in progress").
_ASYNCPG_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InternalClientError,
)


@dataclass(frozen=True, slots=True)
class Outage:
    """What is out of reach (``DATABASE`` or ``SESSIONS``) and the error that said so."""

    service: str
    error: BaseException

    @property
    def kind(self) -> str:
        """The key log lines are throttled by: the service and the error's class."""
        return f"{self.service}: {type(self.error).__name__}"

    def describe(self) -> str:
        """One line for the log: the service and the error, without a traceback."""
        first_line = (str(self.error).strip().splitlines() or [""])[0][:200]  # not SQLAlchemy's SQL and links
        return f"{self.service} unavailable ({type(self.error).__name__}: {first_line})"


def outage_of(exc: BaseException) -> Outage | None:
    """The outage behind ``exc`` (a cause at any depth), or None if ``exc`` is an ordinary error."""
    for link in _causes(exc):
        service = _service_out_of_reach(link)
        if service is not None:
            return Outage(service, link)
    return None


def is_dead_connection(exc: BaseException) -> bool:
    """Whether ``exc`` says a connection was lost or left unusable (retrying on a new one may work)."""
    outage = outage_of(exc)
    return outage is not None and outage.service == DATABASE and not isinstance(outage.error, sqlite3.Error)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything behind it: causes, contexts, and the driver error SQLAlchemy wraps."""
    seen: set[int] = set()
    waiting: list[BaseException] = [exc]
    while waiting:
        link = waiting.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        for behind in (getattr(link, "orig", None), link.__cause__, link.__context__):
            if isinstance(behind, BaseException):
                waiting.append(behind)


def _service_out_of_reach(error: BaseException) -> str | None:
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return SESSIONS  # redis-py wraps its socket errors in these
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return DATABASE
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return DATABASE
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return DATABASE if code is not None and code & 0xFF in _SQLITE_OUTAGE_CODES else None
    if isinstance(error, _ASYNCPG_OUTAGES):
        return DATABASE
    if isinstance(error, asyncpg.exceptions.InterfaceError) and "closed" in str(error):
        return DATABASE  # "connection is closed": a pooled connection whose server went away
    # Bare socket errors come from asyncpg's connect (the engine's pool and the sessions' pool):
    # redis-py wraps its own, above.
    if isinstance(error, ConnectionError | socket.gaierror | TimeoutError):
        return DATABASE
    return None


class _Throttle:
    """Lets one event per key through per interval, counting the rest; safe across threads
    (SQLite's response writer logs from a thread of its own)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}

    def admit(self, key: str) -> int | None:
        """How many were left out since the last one let through, or None to leave this one out."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._left_out[key] = self._left_out.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._left_out.pop(key, 0)


_throttle = _Throttle(LOG_INTERVAL_SECONDS)


def note_outage(outage: Outage, context: str, logger: logging.Logger = log) -> None:
    """Log an outage met while doing ``context``: one line per kind per interval, no traceback."""
    left_out = _throttle.admit(outage.kind)
    if left_out is None:
        return
    more = f"; {left_out} more like it in the last {LOG_INTERVAL_SECONDS:.0f} s" if left_out else ""
    logger.error("%s: %s, answered 503%s", context, outage.describe(), more)


class OutageLogThrottle(logging.Filter):
    """A filter for libraries' loggers: their lines about an outage are throttled like ours, without tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record unless it is about an outage already logged this interval."""
        error = record.exc_info[1] if record.exc_info else None
        outage = outage_of(error) if error is not None else None
        if outage is None:
            return True
        left_out = _throttle.admit(f"{record.name} {outage.kind}")
        if left_out is None:
            return False
        record.msg = f"{record.getMessage()}: {outage.describe()}" + (
            f"; {left_out} more like it in the last {LOG_INTERVAL_SECONDS:.0f} s" if left_out else ""
        )
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


# Libraries that log connection failures with a traceback each time.
_LIBRARY_LOGGERS = ("asyncpg.pool", "sqlalchemy.pool.impl.AsyncAdaptedQueuePool", "sqlalchemy.pool.impl.QueuePool")


def throttle_library_outage_logs() -> None:
    """Attach ``OutageLogThrottle`` to the libraries' loggers that report outages (once per process)."""
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, OutageLogThrottle) for existing in logger.filters):
            logger.addFilter(OutageLogThrottle())
