"""The rate limits' SQL storages (talking/rate_limits/storage.py) count in batches and stay exact.

Every hit counted while the event loop goes round once is added in one statement; these tests
hold the batches to what one statement per hit would give: each hit of a key gets its own count,
from 1 up with no gap or repeat, whether the hits come at once, from two workers' storages sharing
one file or table, while another worker holds SQLite's lock, or across a window's end. A storage
that fails tells every hit of its batch. On a real SQLite file and the real PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import create_engine
from talking.db.models import rate_limit_counts
from talking.rate_limits import SUBMIT, RateLimited, RateLimiter, parse_limits
from talking.rate_limits.storage import PostgresCounts, SQLiteFileCounts, _SqlCounts, limits_path

from ..conftest import another_worker_writing


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite (the file beside the database) and PostgreSQL (its table)."""
    return each_database_url


@pytest.fixture
async def workers(database_url: str) -> AsyncIterator[tuple[_SqlCounts, _SqlCounts]]:
    """Two workers' storages on the same counts: each its own connection (file) or engine (table)."""
    engines: list[AsyncEngine] = []
    storages: list[_SqlCounts] = []
    for _ in range(2):
        engine = create_engine(database_url)
        engines.append(engine)
        if engine.dialect.name == "postgresql":
            storages.append(PostgresCounts(engine))
        else:
            storages.append(SQLiteFileCounts(limits_path(engine.url.database)))  # type: ignore[arg-type]
    yield storages[0], storages[1]
    for storage in storages:
        if isinstance(storage, SQLiteFileCounts):
            storage.close()
    for engine in engines:
        await engine.dispose()


async def stored_count(storage: _SqlCounts, key: str) -> int:
    """The count as stored (not as a storage answers it)."""
    if isinstance(storage, PostgresCounts):
        async with storage.engine.connect() as conn:
            found = await conn.execute(select(rate_limit_counts.c.count).where(rate_limit_counts.c.key == key))
            return int(found.scalar_one())
    with sqlite3.connect(storage.path) as connection:
        return int(connection.execute("SELECT count FROM rate_limit_counts WHERE key = ?", (key,)).fetchone()[0])


async def test_hits_at_once_each_get_their_own_count(workers: tuple[_SqlCounts, _SqlCounts]) -> None:
    storage, _ = workers
    keys = [f"submit/198.51.100.{n}" for n in range(5)]
    hits = [keys[n % 5] for n in range(200)]
    counts = await asyncio.gather(*[storage.incr(key, 60) for key in hits])
    for key in keys:
        assert sorted(count for hit, count in zip(hits, counts, strict=True) if hit == key) == list(range(1, 41))
        assert await stored_count(storage, key) == 40
    # The hits of one key share its count out in the order they came.
    first_key = [count for hit, count in zip(hits, counts, strict=True) if hit == keys[0]]
    assert first_key == list(range(1, 41))
    assert await storage.get(keys[0]) == 40
    assert await storage.incr(keys[0], 60, amount=3) == 43


async def test_two_workers_counting_at_once_share_one_count(workers: tuple[_SqlCounts, _SqlCounts]) -> None:
    one, other = workers
    counts = await asyncio.gather(*[(one if n % 3 else other).incr("submit/203.0.113.7", 60) for n in range(150)])
    assert sorted(counts) == list(range(1, 151))
    assert await stored_count(one, "submit/203.0.113.7") == 150


async def test_hits_wait_for_another_workers_lock_and_lose_nothing(tmp_path: Path) -> None:
    storage = SQLiteFileCounts(tmp_path / "talking.limits.db")
    try:
        await storage.incr("warm", 60)  # the file and its table exist
        with another_worker_writing(storage.path):
            waiting = asyncio.gather(*[storage.incr("submit/192.0.2.1", 60) for _ in range(30)])
            await asyncio.sleep(0.05)
            assert not waiting.done()  # nothing answered while the lock is held
        assert sorted(await waiting) == list(range(1, 31))
    finally:
        storage.close()


async def test_a_window_that_has_ended_starts_again(workers: tuple[_SqlCounts, _SqlCounts]) -> None:
    storage, _ = workers
    assert sorted(await asyncio.gather(*[storage.incr("short", 1) for _ in range(5)])) == [1, 2, 3, 4, 5]
    ends = await storage.get_expiry("short")
    assert time.time() < ends <= time.time() + 1
    await asyncio.sleep(max(0.0, ends - time.time()) + 0.05)
    assert await storage.get("short") == 0
    assert sorted(await asyncio.gather(*[storage.incr("short", 1) for _ in range(3)])) == [1, 2, 3]


async def test_exactly_the_limit_gets_through_from_two_workers(workers: tuple[_SqlCounts, _SqlCounts]) -> None:
    limits = {SUBMIT: parse_limits("25/minute", "limit")}
    limiters = [RateLimiter(limits, storage) for storage in workers]
    scope = {"client": ("198.51.100.20", 1234), "headers": []}

    async def one(n: int) -> bool:
        try:
            await limiters[n % 2].hit(SUBMIT, scope)
        except RateLimited:
            return False
        return True

    through = await asyncio.gather(*[one(n) for n in range(80)])
    assert sum(through) == 25


def test_a_failing_storage_tells_every_hit_of_its_batch(tmp_path: Path) -> None:
    unwritable = tmp_path / "a-directory.limits.db"
    unwritable.mkdir()  # SQLite cannot open a directory as its database
    storage = SQLiteFileCounts(unwritable)

    async def hits() -> list[object]:
        return await asyncio.gather(*[storage.incr(f"k{n % 3}", 60) for n in range(12)], return_exceptions=True)

    outcomes = asyncio.run(hits())
    assert len(outcomes) == 12
    assert all(isinstance(outcome, sqlite3.Error) for outcome in outcomes), outcomes
    # The limiter lets such requests through (a limit must not take the service down).
    limiter = RateLimiter({SUBMIT: parse_limits("1/minute", "limit")}, storage)
    scope = {"client": ("198.51.100.30", 1), "headers": []}

    async def through() -> None:
        for _ in range(3):
            await limiter.hit(SUBMIT, scope)

    asyncio.run(through())
