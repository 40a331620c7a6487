"""Recovery from outages, on real servers of the test's own: a private PostgreSQL stopped and started,
its backends terminated, a private Redis killed mid-journey. A real `talking serve` answers 503 with
Retry-After (problem details on the API, a page for people), logs a line per kind of failure per
interval, retries a dead pooled connection by itself, and serves again once the server is back."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from talking.app import create_app
from talking.settings import Settings
from talking.testing.private_servers import PrivatePostgres, PrivateRedis
from talking.testing.surveys import publish_survey_at

from ...conftest import another_worker_writing, live_server

PRESTON = "E07000123"
ANSWERS = {"district": PRESTON, "picks": ["fraud", "burglary"]}
OUTAGE_SECONDS = 5


class Resident:
    """A resident's browser: keeps cookies and sends the CSRF token of the last form."""

    def __init__(self, base_url: str, survey_id: int) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=20)
        self.survey = f"/surveys/{survey_id}"

    def page(self, step: str) -> httpx.Response:
        return self.http.get(f"{self.survey}/{step}")

    def answer(self, step: str, data: dict[str, str]) -> httpx.Response:
        token = self.http.cookies.get("talking_csrf") or ""
        return self.http.post(f"{self.survey}/{step}", data={**data, "_csrf_token": token})


def submit(http: httpx.Client, survey_id: int) -> httpx.Response:
    return http.post(f"/api/v1/surveys/{survey_id}/responses", json=ANSWERS)


def assert_api_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["status"] == 503 and problem["type"].endswith("-unavailable")
    assert "nothing was stored" in problem["detail"]


def assert_page_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert int(response.headers["retry-after"]) > 0
    assert "Sorry, the service is unavailable for a moment" in response.text


def outage_lines(log: str) -> list[str]:
    """Log lines from the worker once it started (not granian's nor `talking serve`'s start-up lines)."""
    return [line for line in log.splitlines() if not line.startswith(("[INFO]", "talking: serving", "talking: emails"))]


@pytest.mark.postgres
def test_postgres_stopped_gives_503_and_service_resumes(
    private_pg: PrivatePostgres, private_pg_url: str, tmp_path: Path
) -> None:
    survey_id = publish_survey_at(private_pg_url)
    with live_server(private_pg_url, tmp_path) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        resident = Resident(server.url, survey_id)
        assert resident.page("district").status_code == 200
        assert resident.answer("district", {"district": PRESTON}).status_code in (200, 303)
        assert submit(http, survey_id).status_code == 201

        # Load from several clients all through the outage: nothing may be a 500.
        statuses: Counter[int] = Counter()
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=server.url, timeout=20) as own:
                while not stop.is_set():
                    statuses[submit(own, survey_id).status_code] += 1

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            private_pg.stop()
            down_since = time.monotonic()
            assert_api_503(submit(http, survey_id))
            assert_page_503(resident.page("issues"))
            assert_page_503(resident.answer("issues", {"picks": "fraud"}))
            health = http.get("/healthz")
            assert health.status_code == 503 and "database" in health.json()["detail"]
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
            private_pg.start()
            time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join()

        assert statuses[503] > 0, statuses
        assert set(statuses) <= {201, 503}, statuses
        # Back: every request succeeds again, the writer included, with no 500 on the way.
        for _ in range(5):
            assert submit(http, survey_id).status_code == 201
        assert resident.page("district").status_code == 200
        assert http.get("/healthz").status_code == 200
        log = outage_lines(server.log())
    # One line per kind of failure per interval, not a traceback per request.
    assert sum(statuses.values()) > 50, statuses
    assert len(log) <= 12, "\n".join(log)
    assert not any("Traceback" in line for line in log), "\n".join(log)


@pytest.mark.postgres
def test_terminated_backends_are_retried_transparently(
    private_pg: PrivatePostgres, private_pg_url: str, tmp_path: Path
) -> None:
    """After pg_terminate_backend (as in a failover) the next requests succeed: a dead pooled
    connection is replaced and the work done again, in the engine's pool and the sessions' own."""
    survey_id = publish_survey_at(private_pg_url)
    database = private_pg_url.rsplit("/", 1)[1]
    with live_server(private_pg_url, tmp_path) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        resident = Resident(server.url, survey_id)
        assert resident.page("district").status_code == 200
        for _ in range(3):
            assert resident.answer("district", {"district": PRESTON}).status_code == 303
            assert submit(http, survey_id).status_code == 201
            assert private_pg.terminate_backends(database) > 0
            assert resident.page("district").status_code == 200  # the session read
            assert resident.answer("district", {"district": PRESTON}).status_code == 303  # read and write
            assert submit(http, survey_id).status_code == 201  # the writer
            assert http.get(f"/api/v1/surveys/{survey_id}").status_code == 200
        assert "Traceback" not in server.log()


def test_redis_down_mid_journey_gives_503_and_healthz_names_it(
    private_redis_server: PrivateRedis, sqlite_url: str, tmp_path: Path
) -> None:
    survey_id = publish_survey_at(sqlite_url)
    env = {"TALKING_REDIS_URL": private_redis_server.url}
    with live_server(sqlite_url, tmp_path, extra_env=env) as server, httpx.Client(base_url=server.url) as http:
        resident = Resident(server.url, survey_id)
        assert resident.page("district").status_code == 200
        assert resident.answer("district", {"district": PRESTON}).status_code == 303

        private_redis_server.stop()
        assert_page_503(resident.answer("issues", {"picks": "fraud"}))
        assert_page_503(resident.page("issues"))
        health = http.get("/healthz")
        assert health.status_code == 503
        assert health.headers["content-type"] == "application/problem+json"
        assert "Redis" in health.json()["detail"]
        assert submit(http, survey_id).status_code == 201  # the API keeps no session: it carries on

        private_redis_server.start()  # empty: without persistence, progress was lost with it
        assert http.get("/healthz").status_code == 200
        assert resident.page("district").status_code == 200
        assert resident.answer("district", {"district": PRESTON}).status_code == 303
        assert resident.page("issues").status_code == 200
        log = outage_lines(server.log())
    assert not any("Traceback" in line for line in log), "\n".join(log)
    assert all(re.search("sessions unavailable|database unavailable", line) for line in log), "\n".join(log)


async def test_sqlite_locked_beyond_the_wait_gives_503_then_stores(
    sqlite_url: str, client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    """Another process holding SQLite's write lock longer than a writer waits (15 s) is an outage too:
    503 with Retry-After, nothing stored; once the lock is let go the same worker stores again."""
    path = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    url = f"/api/v1/surveys/{open_survey}/responses"
    with another_worker_writing(path):
        refused = await client.post(url, json=ANSWERS)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["type"].endswith("/database-unavailable")
    stored = await client.post(url, json=ANSWERS)
    assert stored.status_code == 201
    assert stored.json()["id"] == 1  # the refused one was not stored


async def test_a_database_that_never_answers_is_503_within_seconds() -> None:
    """A PostgreSQL host that accepts connections and then says nothing (a hung server, a half-open
    network): a 503 after the connect timeout, not a request held for asyncpg's default minute."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes the handshakes; nobody ever answers
        port = silent.getsockname()[1]
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/talking"
        app = create_app(Settings(database_url=url, secret_key="silent-" + "k" * 32))
        async with AsyncTestClient(app=app, timeout=60) as client:
            # Well under asyncpg's own 60 s, well over the 5 s connect timeout on a loaded machine.
            answers = await asyncio.wait_for(
                asyncio.gather(
                    client.get("/healthz"),
                    client.post("/api/v1/surveys/1/responses", json=ANSWERS),
                    client.get("/surveys/1"),
                ),
                timeout=30,
            )
    health, api, page = answers
    assert health.status_code == 503 and "database" in health.json()["detail"]
    assert_api_503(api)
    assert_page_503(page)


async def test_a_redis_that_never_answers_is_503_within_seconds(sqlite_url: str, open_survey: int) -> None:
    """Redis accepting connections and then saying nothing: the pages and /healthz answer 503 within
    seconds (redis-py 8's own timeouts, 5 s a try), not a hung page."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        redis_url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        app = create_app(Settings(database_url=sqlite_url, secret_key="silent-" + "k" * 32, redis_url=redis_url))
        async with AsyncTestClient(app=app, timeout=60) as client:
            client.cookies.set("talking_session", "ab" * 16)  # a resident part-way through: a session to read
            health, page = await asyncio.wait_for(
                asyncio.gather(client.get("/healthz"), client.get(f"/surveys/{open_survey}/district")), timeout=30
            )
    assert health.status_code == 503 and "Redis" in health.json()["detail"]
    assert_page_503(page)
