"""A 201 means committed: acknowledged responses survive the server being killed with SIGKILL, and
a worker waits its turn for SQLite's write lock instead of refusing answers."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import responses

from ..conftest import another_worker_writing, count_stored, live_server, publish_survey


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


async def test_acknowledged_responses_survive_kill_9(database_url: str, engine: AsyncEngine, tmp_path: Path) -> None:
    survey_id = await publish_survey(engine)
    acknowledged: list[int] = []
    enough = asyncio.Event()
    with live_server(database_url, tmp_path) as server:
        url = f"{server.url}/api/v1/surveys/{survey_id}/responses"
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(limits=limits, timeout=10) as http:

            async def send(i: int) -> None:
                body = {"district": "E07000117", "picks": ["fraud", "burglary"] if i % 2 else ["alcohol"]}
                try:
                    response = await http.post(url, json=body)
                except httpx.HTTPError:
                    return  # cut off by the kill: never acknowledged, so no promise was made
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])
                    if len(acknowledged) >= 150:
                        enough.set()

            tasks = [asyncio.create_task(send(i)) for i in range(400)]
            # Kill the server mid-stream, without warning, once some responses are acknowledged.
            await asyncio.wait_for(enough.wait(), timeout=60)
            server.kill(signal.SIGKILL)  # the main process and its worker, with no warning
            await asyncio.gather(*tasks)
        server.process.wait()
    assert len(acknowledged) >= 150
    async with engine.connect() as conn:
        stored = set((await conn.execute(select(responses.c.id).where(responses.c.survey_id == survey_id))).scalars())
        assert (await conn.execute(select(func.count()).select_from(responses))).scalar_one() == len(stored)
    assert set(acknowledged) <= stored, f"lost {len(set(acknowledged) - stored)} acknowledged responses"


async def test_a_response_waits_for_another_workers_write_lock(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    """While another process holds SQLite's write lock, the writer waits its turn (it neither
    refuses the response nor holds up the server's event loop), then stores it."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's file lock")
    survey_id = await publish_survey(engine)
    with live_server(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            with another_worker_writing(engine.url.database or ""):
                body = {"district": "E07000117", "picks": ["fraud", "burglary"]}
                posting = asyncio.create_task(http.post(f"/api/v1/surveys/{survey_id}/responses", json=body))
                await asyncio.sleep(0.5)
                assert not posting.done()  # waiting for the lock, not refused
                assert (await http.get("/healthz")).status_code == 200  # the server serves on meanwhile
                assert await count_stored(engine) == (0, 0)
            response = await asyncio.wait_for(posting, 5)
    assert response.status_code == 201, response.text
    assert await count_stored(engine) == (1, 2)
