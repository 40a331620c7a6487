"""The database-backed session store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import web_sessions
from talking.sessions import DatabaseStore


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


async def stored_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(web_sessions))).scalar_one()


async def test_set_get_delete(engine: AsyncEngine) -> None:
    store = DatabaseStore(engine)
    assert await store.get("k") is None
    await store.set("k", b"value", expires_in=60)
    assert await store.get("k") == b"value"
    assert await store.exists("k")
    assert 55 <= (await store.expires_in("k") or 0) <= 60
    await store.set("k", "changed", expires_in=60)
    assert await store.get("k") == b"changed"
    await store.delete("k")
    assert await store.get("k") is None
    assert await stored_rows(engine) == 0


async def test_expired_values_are_gone(engine: AsyncEngine) -> None:
    store = DatabaseStore(engine)
    await store.set("short", b"v", expires_in=1)
    await asyncio.sleep(1.1)
    assert await store.get("short") is None
    assert not await store.exists("short")


async def test_another_worker_sees_the_write(engine: AsyncEngine) -> None:
    """Two stores on one database stand for two worker processes."""
    worker_a, worker_b = DatabaseStore(engine), DatabaseStore(engine)
    await worker_a.set("shared", b"one", expires_in=60)
    assert await worker_b.get("shared") == b"one"
    await worker_b.set("shared", b"two", expires_in=60)
    assert await worker_a.get("shared") == b"two"


async def test_delete_all(engine: AsyncEngine) -> None:
    store = DatabaseStore(engine)
    for i in range(5):
        await store.set(f"k{i}", b"v", expires_in=60)
    await store.delete_all()
    assert await stored_rows(engine) == 0
