"""On SQLite, a request that writes while another process holds the write lock waits its turn on the
event loop (other requests go on), and one that waits too long is told 503, never 500."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from talking.db.engine import SQLITE_BUSY_TIMEOUT_MS, DatabaseBusy, create_engine, immediate
from talking.db.models import surveys
from talking.testing.surveys import publish_survey

from ..conftest import make_token, make_user
from .staff_helpers import csrf_from, title


@asynccontextmanager
async def on_this_loop(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling the app on the test's own event loop (Litestar's test client runs it on another)."""
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client


def hold_write_lock(sqlite_url: str) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection of its own holding the write lock."""
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def staff_token(engine: AsyncEngine) -> dict[str, str]:
    user_id = await make_user(engine, "staff@lancashire.test", "staff")
    return {"Authorization": f"Bearer {await make_token(engine, user_id)}"}


async def test_a_write_waits_for_the_lock_while_other_requests_go_on(
    app: Litestar, engine: AsyncEngine, sqlite_url: str
) -> None:
    bearer = await staff_token(engine)
    survey_id = await publish_survey(engine)
    async with on_this_loop(app) as client:
        await _waits_for_the_lock(client, engine, sqlite_url, bearer, survey_id)


async def _waits_for_the_lock(
    client: httpx.AsyncClient, engine: AsyncEngine, sqlite_url: str, bearer: dict[str, str], survey_id: int
) -> None:
    other = hold_write_lock(sqlite_url)
    try:
        # Reads first, then writes: the kind of transaction SQLite used to refuse at once.
        closing = asyncio.create_task(client.post(f"/api/v1/surveys/{survey_id}/close", headers=bearer))
        await asyncio.sleep(0.3)
        assert not closing.done()
        health = await client.get("/healthz")  # the event loop is free meanwhile
        assert health.status_code == 200
    finally:
        other.rollback()
        other.close()
    closed = await closing
    assert closed.status_code == 200, closed.text
    async with engine.connect() as conn:
        assert await conn.scalar(select(surveys.c.status).where(surveys.c.id == survey_id)) == "closed"


async def test_a_lock_held_too_long_is_database_busy_and_the_connection_stays_good(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, sqlite_busy_timeout_ms=300)
    try:
        survey_id = await publish_survey(engine)
        other = hold_write_lock(sqlite_url)
        started = time.monotonic()
        try:
            async with AsyncSession(immediate(engine)) as session:
                with pytest.raises(DatabaseBusy):
                    await session.execute(update(surveys).where(surveys.c.id == survey_id).values(title="Changed"))
        finally:
            other.rollback()
            other.close()
        assert 0.3 <= time.monotonic() - started < 3
        async with AsyncSession(immediate(engine)) as session:
            await session.execute(update(surveys).where(surveys.c.id == survey_id).values(title="Changed"))
            await session.commit()
        async with engine.connect() as conn:
            assert await conn.scalar(select(surveys.c.title).where(surveys.c.id == survey_id)) == "Changed"
    finally:
        await engine.dispose()


async def test_waiting_too_long_answers_503_with_retry_after(
    app: Litestar, engine: AsyncEngine, sqlite_url: str
) -> None:
    bearer = await staff_token(engine)
    survey_id = await publish_survey(engine)
    async with on_this_loop(app) as client:
        form = await client.get("/sign-in")
        other = hold_write_lock(sqlite_url)
        try:
            started = time.monotonic()
            api, page = await asyncio.gather(
                client.post(f"/api/v1/surveys/{survey_id}/close", headers=bearer),
                client.post(
                    "/sign-in",
                    data={"_csrf_token": csrf_from(form.text), "email": "staff@lancashire.test", "password": "wrong"},
                ),
            )
            assert time.monotonic() - started >= SQLITE_BUSY_TIMEOUT_MS / 1000
        finally:
            other.rollback()
            other.close()
    assert api.status_code == 503
    assert api.headers["content-type"] == "application/problem+json"
    assert api.headers["retry-after"] == "5"
    assert api.json()["detail"] == "The service is busy; nothing was stored. Try again in a few seconds."
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert title(page.text) == "Sorry, the service is unavailable for a moment - Lancashire Talking"
    async with engine.connect() as conn:
        assert await conn.scalar(select(surveys.c.status).where(surveys.c.id == survey_id)) == "open"
