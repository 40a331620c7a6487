"""The session store: its own SQLite file beside an SQLite database, or PostgreSQL's web_sessions table."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import create_engine
from talking.db.models import web_sessions
from talking.sessions import DatabaseStore, EngineSessions, PostgresSessions, SessionFile, stamps_path
from talking.sessions.stamps import SessionStamps

from ..conftest import another_worker_writing, sessions_file
from .conftest import NewStore
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


async def test_set_get_delete(engine: AsyncEngine, new_store: NewStore) -> None:
    store = new_store()
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


async def test_expired_values_are_gone(new_store: NewStore) -> None:
    store = new_store()
    await store.set("short", b"v", expires_in=1)
    await asyncio.sleep(1.1)
    assert await store.get("short") is None
    assert not await store.exists("short")


async def test_another_worker_sees_the_write(new_store: NewStore) -> None:
    """Two stores on one database stand for two worker processes."""
    worker_a, worker_b = new_store(), new_store()
    await worker_a.set("shared", b"one", expires_in=60)
    assert await worker_b.get("shared") == b"one"
    await worker_b.set("shared", b"two", expires_in=60)
    assert await worker_a.get("shared") == b"two"


async def test_delete_all(engine: AsyncEngine, new_store: NewStore) -> None:
    store = new_store()
    for i in range(5):
        await store.set(f"k{i}", b"v", expires_in=60)
    await store.delete_all()
    assert await stored_rows(engine) == 0


async def test_a_changed_session_is_saved_and_an_unchanged_one_is_not_rewritten(
    engine: AsyncEngine, new_store: NewStore
) -> None:
    store = new_store()
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
    other = new_store()
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
    if isinstance(store.backend, SessionFile):  # and this worker remembers it: no reads of the file either
        assert store.backend.reads == 0
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
    assert (await backend.run(lambda conn, _stamps: conn.execute("PRAGMA synchronous").fetchone()[0])) == 1
    assert (await backend.run(lambda conn, _stamps: conn.execute("PRAGMA journal_mode").fetchone()[0])) == "wal"
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar_one() == 2
    with app.state.writer.engine.connect() as conn:  # the writer's own synchronous engine
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2


async def test_a_write_waits_for_another_workers_lock_without_blocking_the_loop(
    engine: AsyncEngine, new_store: NewStore
) -> None:
    path = sessions_file(engine)
    if path is None:
        pytest.skip("SQLite's file lock")
    store = new_store()
    await store.set("k", b"one", expires_in=60)  # creates the file
    with another_worker_writing(path):
        writing = asyncio.create_task(store.set("k", b"two", expires_in=60))
        for _ in range(20):  # the event loop goes on: were the write waiting inside SQLite, this
            await asyncio.sleep(0.005)  # loop could not run until its busy timeout made it fail
        assert not writing.done()  # still waiting for the lock, not failed
        assert await new_store().get("k") == b"one"  # readers are not blocked
    await asyncio.wait_for(writing, 5)
    assert await new_store().get("k") == b"two"


def file_store(store: DatabaseStore) -> DatabaseStore:
    """The store, if it keeps sessions in SQLite's sessions file (else the test is skipped)."""
    if not isinstance(store.backend, SessionFile):
        pytest.skip("PostgreSQL reads sessions every time: workers on other machines may write them")
    return store


async def test_a_worker_remembers_a_session_until_another_worker_writes_it(
    new_store: NewStore,
) -> None:
    worker_a, worker_b = file_store(new_store()), file_store(new_store())
    file_a = worker_a.backend
    assert isinstance(file_a, SessionFile)
    await worker_a.set("k", b"one", expires_in=60)
    for _ in range(3):
        assert await worker_a.get("k") == b"one"
    assert file_a.reads == 0  # what it wrote, it remembers
    assert await worker_b.get("k") == b"one"
    assert file_a.reads == 0  # another worker reading it changes nothing
    await worker_b.set("k", b"two", expires_in=60)
    assert await worker_a.get("k") == b"two"  # another worker wrote it: read again
    assert await worker_a.get("k") == b"two"
    assert file_a.reads == 1
    await worker_b.delete("k")
    assert await worker_a.get("k") is None
    await worker_b.set("k", b"three", expires_in=60)
    assert await worker_a.get("k") == b"three"
    await worker_b.delete_all()
    assert await worker_a.get("k") is None
    assert file_a.reads == 4


async def test_a_remembered_session_still_expires(new_store: NewStore) -> None:
    store = file_store(new_store())
    await store.set("short", b"v", expires_in=1)
    assert await store.get("short") == b"v"
    await asyncio.sleep(1.1)
    assert await store.get("short") is None
    assert not await store.exists("short")


async def test_a_write_waits_while_another_worker_is_writing_a_session(
    new_store: NewStore,
) -> None:
    """Writes hold the shared stamps' lock until their stamp has moved on; the next one waits its turn."""
    store = file_store(new_store())
    await store.set("k", b"one", expires_in=60)
    assert isinstance(store.backend, SessionFile)
    other_worker = SessionStamps(stamps_path(store.backend.path))
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    holding = loop.run_in_executor(
        None, other_worker.write, "k", lambda: asyncio.run_coroutine_threadsafe(release.wait(), loop).result(5)
    )
    writing = None
    try:
        await asyncio.sleep(0.05)  # the other worker is in the middle of its write
        writing = asyncio.create_task(store.set("k", b"two", expires_in=60))
        for _ in range(10):  # the event loop goes on meanwhile
            await asyncio.sleep(0.005)
        assert not writing.done()
    finally:
        release.set()
        await holding
        other_worker.close()
    assert writing is not None
    await asyncio.wait_for(writing, 5)
    assert await new_store().get("k") == b"two"


def _write_slowly_in_a_forked_worker(store: DatabaseStore, started: multiprocessing.synchronize.Event) -> None:
    """In a child forked from a process that already used ``store``: write "child", slowly."""
    backend = store.backend
    assert isinstance(backend, SessionFile)

    def write_slowly(connection: sqlite3.Connection, stamps: SessionStamps) -> None:
        def write() -> None:
            started.set()
            time.sleep(0.5)
            connection.execute(SessionFile._SQL.upsert, {"session_key": "k", "new_value": b"child", "new_expiry": None})

        stamps.write("k", write)

    write_slowly(*backend._connect())  # what backend.run does, without an event loop


async def test_a_forked_worker_takes_the_write_lock_for_itself(engine: AsyncEngine, new_store: NewStore) -> None:
    """A forked worker must not share its parent's lock: the parent's write waits for the child's."""
    store = file_store(new_store())
    await store.set("k", b"parent, before", expires_in=60)  # the parent has opened the file and stamps
    context = multiprocessing.get_context("fork")
    started = context.Event()
    child = context.Process(target=_write_slowly_in_a_forked_worker, args=(store, started))
    child.start()
    try:
        assert await asyncio.to_thread(started.wait, 10)
        await store.set("k", b"parent, after", expires_in=60)  # waits until the child has written
    finally:
        await asyncio.to_thread(child.join, 10)
    assert child.exitcode == 0
    assert (await stored(engine))["k"][0] == b"parent, after"
    assert await store.get("k") == b"parent, after"


async def test_the_engine_backend_keeps_sessions_in_the_databases_own_table(engine: AsyncEngine) -> None:
    """The fallback for an SQLite database with no file to put sessions beside, held to the same behaviour."""
    backend = EngineSessions(engine)
    expiry = datetime.now(UTC) + timedelta(minutes=5)
    assert await backend.read("k") is None
    await backend.upsert("k", b"one", expiry, sweep_before=None)
    assert await backend.read("k") == (b"one", expiry)
    await backend.upsert("gone", b"old", expiry - timedelta(minutes=10), sweep_before=None)
    await backend.upsert("k", b"two", expiry, sweep_before=datetime.now(UTC))  # sweeps out "gone"
    assert await backend.read("k") == (b"two", expiry)
    assert await backend.read("gone") is None
    await backend.renew("k", expiry + timedelta(minutes=1))
    assert await backend.read("k") == (b"two", expiry + timedelta(minutes=1))
    await backend.delete("k")
    assert await backend.read("k") is None
    await backend.upsert("k", b"three", None, sweep_before=None)
    await backend.delete_all()
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(web_sessions))).scalar_one() == 0
    await backend.close()


async def test_postgresql_sessions_have_a_pool_of_their_own_closed_with_the_app(
    app: Litestar, engine: AsyncEngine, open_survey: int
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's sessions pool")
    store: DatabaseStore = app.stores.get("sessions")  # type: ignore[assignment]
    backend = store.backend
    assert isinstance(backend, PostgresSessions)
    async with AsyncTestClient(app=app) as client:  # the app starts, and stops when this ends
        district = f"/surveys/{open_survey}/district"
        assert (await submit(client, district, district, {"district": PRESTON})).status_code == 303
        session_id = client.cookies["talking_session"]
        pool = backend._pool  # opened on first use, in the app's event loop
        assert pool is not None and not pool.is_closing()
    assert session_id in await stored(engine)  # in the database's own table
    assert pool.is_closing() and backend._pool is None  # closed when the app stopped
    assert await backend.read(session_id) is not None  # the next use opens another
    await backend.close()


async def test_postgresql_sessions_connect_as_the_engine_does(engine: AsyncEngine, database_url: str) -> None:
    """Options SQLAlchemy keeps for itself in the URL are not handed on to asyncpg."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's sessions pool")
    other = create_engine(f"{database_url}?prepared_statement_cache_size=50")
    backend = PostgresSessions(other)
    try:
        await backend.upsert("k", b"v", None, sweep_before=None)
        assert await backend.read("k") == (b"v", None)
    finally:
        await backend.close()
        await other.dispose()


async def test_postgresql_sessions_survive_the_server_dropping_their_connections(engine: AsyncEngine) -> None:
    """A restart or failover drops every connection: the next request gets new ones, not an error."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's sessions pool")
    backend = PostgresSessions(engine)
    try:
        await backend.upsert("k", b"v", None, sweep_before=None)
        async with engine.connect() as conn:
            dropped = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert dropped >= 1
        await asyncio.sleep(0.2)  # the server's goodbye reaches the pool
        assert await backend.read("k") == (b"v", None)
        await backend.upsert("k", b"w", None, sweep_before=None)
        assert await backend.read("k") == (b"w", None)
    finally:
        await backend.close()
