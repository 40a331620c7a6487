"""The session store: its own SQLite file beside an SQLite database, or PostgreSQL's web_sessions table."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from litestar import Litestar
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import web_sessions
from talking.sessions import DatabaseStore, SessionFile

from ..conftest import sessions_file
from .staff_helpers import Client, submit

PRESTON = "E07000123"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


async def stored(engine: AsyncEngine) -> dict[str, tuple[bytes, str]]:
    """Every stored session as it lies on disk (or in PostgreSQL): {key: (value, expiry as text)}."""
    path = sessions_file(engine)
    if path is not None:
        if not path.exists():
            return {}
        with sqlite3.connect(path) as conn:
            rows = conn.execute('SELECT "key", "value", "expires_at" FROM "web_sessions"').fetchall()
    else:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(web_sessions))).all()
    return {key: (bytes(value), str(expires_at)) for key, value, expires_at in rows}


async def stored_rows(engine: AsyncEngine) -> int:
    return len(await stored(engine))


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


async def test_a_changed_session_is_saved_and_an_unchanged_one_is_not_rewritten(engine: AsyncEngine) -> None:
    store = DatabaseStore(engine)
    await store.set("k", b'{"survey:1":{}}', expires_in=3600)
    first = (await stored(engine))["k"]
    assert store.writes == 1
    # A request reads the session and hands back the same value: nothing is written, the stored expiry stays.
    assert await store.get("k") == b'{"survey:1":{}}'
    await asyncio.sleep(0.01)
    await store.set("k", b'{"survey:1":{}}', expires_in=3600)
    assert store.writes == 1
    assert (await stored(engine))["k"] == first
    # A changed value is written at once, with a new expiry.
    await store.set("k", b'{"survey:1":{"district":"E07000123"}}', expires_in=3600)
    assert store.writes == 2
    value, expires_at = (await stored(engine))["k"]
    assert value == b'{"survey:1":{"district":"E07000123"}}'
    assert expires_at > first[1]
    # Another worker (another store) that never read it writes even the same value: it cannot know.
    other = DatabaseStore(engine)
    await asyncio.sleep(0.01)
    await other.set("k", value, expires_in=3600)
    assert other.writes == 1
    assert (await stored(engine))["k"][1] > expires_at  # written to the store, with its new expiry


async def test_pages_write_the_session_only_when_it_changes(
    app: Litestar, client: Client, engine: AsyncEngine, open_survey: int
) -> None:
    store: DatabaseStore = app.stores.get("sessions")  # type: ignore[assignment]
    start = await client.get(f"/surveys/{open_survey}")
    assert start.status_code == 200
    assert "talking_session" not in client.cookies  # nothing to keep yet: no session row, no cookie
    assert store.writes == 0
    district = f"/surveys/{open_survey}/district"
    chosen = await submit(client, district, district, {"district": PRESTON})
    assert chosen.status_code == 303
    assert store.writes == 1  # the answer is kept
    session_id = client.cookies["talking_session"]
    row = (await stored(engine))[session_id]
    for _ in range(3):  # reading pages changes nothing, so writes nothing
        assert (await client.get(f"/surveys/{open_survey}/issues")).status_code == 200
        assert (await client.get(f"/surveys/{open_survey}/district")).status_code == 200
    assert store.writes == 1
    assert (await stored(engine))[session_id] == row  # the stored row too: same value, same expiry
    assert client.cookies["talking_session"] == session_id
    assert b"E07000123" in (await stored(engine))[session_id][0]


async def test_sqlite_sessions_have_their_own_file_and_responses_stay_fully_synced(app: Litestar) -> None:
    engine: AsyncEngine = app.state.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps sessions in its web_sessions table")
    store: DatabaseStore = app.stores.get("sessions")  # type: ignore[assignment]
    await store.set("k", b"v", expires_in=60)
    path = sessions_file(engine)
    backend = store.backend
    assert isinstance(backend, SessionFile) and backend.path == path
    assert path is not None and path.name == "talking.sessions.db" and path.exists()
    async with engine.connect() as conn:  # the database's own table is not used for them
        assert (await conn.execute(select(func.count()).select_from(web_sessions))).scalar_one() == 0
    # synchronous: 1 is NORMAL (sessions), 2 is FULL (the database, and the response writer's connection)
    assert (await backend.run(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])) == 1
    assert (await backend.run(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0])) == "wal"
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar_one() == 2
    with app.state.writer.engine.connect() as conn:  # the writer's own synchronous engine
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2


async def test_a_write_waits_for_another_workers_lock_without_blocking_the_loop(engine: AsyncEngine) -> None:
    path = sessions_file(engine)
    if path is None:
        pytest.skip("SQLite's file lock")
    store = DatabaseStore(engine)
    await store.set("k", b"one", expires_in=60)  # creates the file
    other_worker = sqlite3.connect(path, isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        writing = asyncio.create_task(store.set("k", b"two", expires_in=60))
        for _ in range(20):  # the event loop goes on: were the write waiting inside SQLite, this
            await asyncio.sleep(0.005)  # loop could not run until its busy timeout made it fail
        assert not writing.done()  # still waiting for the lock, not failed
        assert await DatabaseStore(engine).get("k") == b"one"  # readers are not blocked
    finally:
        other_worker.execute("COMMIT")
        other_worker.close()
    await asyncio.wait_for(writing, 5)
    assert await DatabaseStore(engine).get("k") == b"two"
