"""Which errors are outages (503, throttled log) and which are bugs (500, traceback); real drivers' errors."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio
import redis.exceptions
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from talking.outages import DATABASE, SESSIONS, OutageLogThrottle, _Throttle, note_outage, outage_of
from talking.testing.server import free_port


def raised(call) -> BaseException:  # type: ignore[no-untyped-def]
    """The error ``call()`` raises."""
    with pytest.raises(BaseException) as caught:
        call()
    return caught.value


def test_sqlite_file_that_cannot_be_opened_is_an_outage(tmp_path: Path) -> None:
    (tmp_path / "talking.db").mkdir()  # a directory where the file should be
    engine = create_engine(f"sqlite:///{tmp_path / 'talking.db'}")
    error = raised(lambda: engine.connect().execute(text("SELECT 1")))
    assert isinstance(error, OperationalError)
    outage = outage_of(error)
    assert outage is not None and outage.service == DATABASE


def test_sqlite_locked_beyond_the_wait_is_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0.01, isolation_level=None)
    error = raised(lambda: other.execute("BEGIN IMMEDIATE"))
    holder.rollback()
    assert outage_of(error) is not None


def test_a_wrong_query_is_not_an_outage(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'ok.db'}")
    with engine.connect() as conn:
        error = raised(lambda: conn.execute(text("SELECT * FROM no_such_table")))
    assert isinstance(error, OperationalError | ProgrammingError)
    assert outage_of(error) is None
    assert outage_of(ValueError("bad input")) is None
    assert outage_of(KeyError("x")) is None


async def test_postgres_refusing_connections_is_an_outage() -> None:
    error: BaseException | None = None
    try:
        await asyncpg.connect(host="127.0.0.1", port=free_port(), user="postgres", timeout=5)
    except Exception as exc:
        error = exc
    assert error is not None
    outage = outage_of(error)
    assert outage is not None and outage.service == DATABASE


async def test_redis_out_of_reach_is_a_sessions_outage() -> None:
    client = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(redis.exceptions.ConnectionError) as caught:
            await client.get("x")
    finally:
        await client.aclose()
    outage = outage_of(caught.value)
    assert outage is not None and outage.service == SESSIONS


def test_a_wrapped_cause_counts() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("while storing") from inner
    except RuntimeError as outer:
        outage = outage_of(outer)
    assert outage is not None and isinstance(outage.error, ConnectionRefusedError)


def test_one_line_per_kind_per_interval_counting_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("talking.test_outages")
    outage = outage_of(ConnectionRefusedError(111, "Connection refused"))
    assert outage is not None
    with caplog.at_level(logging.ERROR, logger=logger.name):
        for _ in range(1000):
            note_outage(outage, "GET /x", logger)
    lines = [record for record in caplog.records if record.name == logger.name]
    assert len(lines) <= 1  # another test may have logged this kind within the interval
    assert all(record.exc_info is None for record in lines)


def test_the_throttle_counts_what_it_left_out() -> None:
    throttle = _Throttle(interval=0.0)
    assert throttle.admit("a") == 0
    slow = _Throttle(interval=3600)
    assert slow.admit("a") == 0
    assert [slow.admit("a") for _ in range(5)] == [None] * 5
    assert slow.admit("b") == 0  # another kind is not held back
    slow._last["a"] -= 7200  # the interval has passed
    assert slow.admit("a") == 5


def test_library_lines_about_an_outage_lose_their_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("talking.test_outages.library")
    logger.addFilter(OutageLogThrottle())
    with caplog.at_level(logging.WARNING, logger=logger.name):
        for _ in range(100):
            try:
                raise ConnectionResetError(104, "Connection reset by peer")
            except ConnectionResetError:
                logger.warning("Failed to restore the pool connection floor", exc_info=True)
        try:
            raise ValueError("a bug")
        except ValueError:
            logger.warning("something else", exc_info=True)
    ours = [record for record in caplog.records if record.name == logger.name]
    assert len(ours) == 2
    assert ours[0].exc_info is None and "ConnectionResetError" in ours[0].getMessage()
    assert ours[1].exc_info is not None  # not an outage: kept whole


def test_sqlite_read_only_and_full_are_outages(tmp_path: Path) -> None:
    path = tmp_path / "small.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (x)")
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    error = raised(lambda: read_only.execute("INSERT INTO t VALUES (1)"))
    assert getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY
    assert outage_of(error) is not None
    full = sqlite3.connect(path)
    full.execute("PRAGMA max_page_count = 3")  # a disk with room for three pages
    error = raised(lambda: full.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,)))
    assert getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
    assert outage_of(error) is not None


def test_no_pooled_connection_free_in_time_is_an_outage(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0, pool_timeout=0.05)
    with engine.connect():
        error = raised(engine.connect)
    outage = outage_of(error)
    assert outage is not None and outage.service == DATABASE
