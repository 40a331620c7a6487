"""Rate limits on the real app: submissions (API and the pages' last step), sign-in and staff tokens.

In-process on SQLite (counts in the file beside the database) and PostgreSQL (its table), then
through a real `talking serve` with two workers: many requests at once from one address, of which
exactly the limit get through, counted in the SQLite file and in Redis.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db.models import rate_limit_counts, responses
from talking.rate_limits.storage import limits_path
from talking.settings import Settings
from talking.surveys.fast_pages import FastPages
from talking.surveys.fast_submit import FastSubmit
from talking.testing.server import free_port

from ..conftest import count_stored, live_server, make_token, make_user, publish_survey
from .staff_helpers import sign_in, text_of
from .test_fast_submit import Answer, Case, call_asgi

Client = AsyncTestClient[Litestar]
PRESTON = "E07000123"
GOOD = {"district": PRESTON, "picks": ["fraud", "burglary"]}
PROBLEM = "application/problem+json"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


def limited(database_url: str, **limits: Any) -> Settings:
    """Test settings with these limits (the rest as by default)."""
    return Settings(database_url=database_url, secret_key="test-secret-key", **limits)


async def client_of(asgi: Any) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=asgi) as client:
        yield client


def assert_refused_for_a_while(response: Any) -> int:
    """A 429 with a Retry-After of a whole number of seconds within the window; returns it."""
    assert response.status_code == 429, response.text[:500]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    return retry_after


# --- the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["litestar", "fast-submit"])
async def test_submissions_over_the_limit_get_429_problem_details_and_store_nothing(
    database_url: str, engine: AsyncEngine, path: str
) -> None:
    survey = await publish_survey(engine)
    app = create_app(limited(database_url, rate_limit_submit="3/minute"))
    async with AsyncTestClient(app=app if path == "litestar" else FastSubmit(app)) as client:  # type: ignore[arg-type]
        url = f"/api/v1/surveys/{survey}/responses"
        answers = [await client.post(url, json=GOOD) for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    refused = answers[3]
    assert_refused_for_a_while(refused)
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["type"] == "https://talking.invalid/problems/rate-limited"
    assert problem["status"] == 429 and problem["instance"] == url
    assert f"try again in {refused.headers['retry-after']} seconds" in problem["detail"]
    assert await count_stored(engine) == (3, 6)
    # Counted where every worker sees it: PostgreSQL's table, or the file beside the SQLite database.
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            counts = (await conn.execute(select(rate_limit_counts.c.count))).scalars().all()
        assert counts == [5]
    else:
        assert limits_path(engine.url.database).exists()  # type: ignore[arg-type]


async def test_the_fast_path_refuses_with_litestars_bytes(database_url: str, engine: AsyncEngine) -> None:
    survey = await publish_survey(engine)
    app = create_app(limited(database_url, rate_limit_submit="1/minute"))
    fast, path, case = FastSubmit(app), f"/api/v1/surveys/{survey}/responses", Case("good", 201)
    async with app.lifespan():
        assert (await call_asgi(fast, path, case)).status == 201
        ours, theirs = await call_asgi(fast, path, case), await call_asgi(app, path, case)
    assert not ours.by_litestar and theirs.by_litestar

    def comparable(answer: Answer) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        # The seconds to wait may tick over between the two requests; everything else is the same bytes.
        headers = [(k, b"N" if k == b"retry-after" else v) for k, v in answer.headers]
        return answer.status, headers, re.sub(rb"\d+ seconds", b"N seconds", answer.body)

    assert ours.status == 429
    assert comparable(ours) == comparable(theirs)


async def test_many_at_once_exactly_the_limit_get_through(database_url: str, engine: AsyncEngine) -> None:
    survey = await publish_survey(engine)
    app = create_app(limited(database_url, rate_limit_submit="10/minute"))
    async with AsyncTestClient(app=FastSubmit(app)) as client:  # type: ignore[arg-type]
        url = f"/api/v1/surveys/{survey}/responses"
        answers = await asyncio.gather(*[client.post(url, json=GOOD) for _ in range(30)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 10 + [429] * 20
    assert all("retry-after" in a.headers for a in answers if a.status_code == 429)
    assert await count_stored(engine) == (10, 20)


async def test_limits_off_count_nothing(database_url: str, engine: AsyncEngine) -> None:
    survey = await publish_survey(engine)
    app = create_app(limited(database_url, rate_limits=False, rate_limit_submit="1/minute"))
    async with AsyncTestClient(app=FastSubmit(app)) as client:  # type: ignore[arg-type]
        answers = [await client.post(f"/api/v1/surveys/{survey}/responses", json=GOOD) for _ in range(5)]
    assert {a.status_code for a in answers} == {201}


async def test_counts_out_of_reach_let_requests_through(database_url: str, engine: AsyncEngine) -> None:
    """A limit must not take the service down: with Redis unreachable, submissions are still stored."""
    survey = await publish_survey(engine)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(limited(database_url, redis_url=nowhere, rate_limit_submit="1/minute"))
    async with AsyncTestClient(app=app) as client:
        answers = [await client.post(f"/api/v1/surveys/{survey}/responses", json=GOOD) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]


# --- staff: sign-in per address, the API per token ----------------------------------------------------


async def test_sign_in_is_limited_per_address(database_url: str, engine: AsyncEngine) -> None:
    await make_user(engine, "staff@x.test", "staff")
    app = create_app(limited(database_url, rate_limit_sign_in="2/minute"))
    async with AsyncTestClient(app=app) as client:
        tries = [await sign_in(client, f"someone{n}@x.test", "wrong password!") for n in range(3)]
        assert [t.status_code for t in tries] == [422, 422, 429]
        assert_refused_for_a_while(tries[2])
        assert "too many tries from your network" in text_of(tries[2].text)
        assert 'href="/sign-in"' in tries[2].text
        # The right password is refused too until the window ends: the limit is the address's.
        assert (await sign_in(client, "staff@x.test")).status_code == 429


async def test_staff_api_is_limited_per_token_not_per_address(database_url: str, engine: AsyncEngine) -> None:
    user = await make_user(engine, "staff@x.test", "staff")
    first, second = await make_token(engine, user), await make_token(engine, user)
    survey = await publish_survey(engine)
    app = create_app(limited(database_url, rate_limit_staff_api="2/minute", rate_limit_submit="1/minute"))
    async with AsyncTestClient(app=app) as client:
        with_first = [
            await client.get("/api/v1/surveys", headers={"Authorization": f"Bearer {first}"}) for _ in range(3)
        ]
        assert [r.status_code for r in with_first] == [200, 200, 429]
        assert with_first[2].headers["content-type"] == PROBLEM
        assert_refused_for_a_while(with_first[2])
        # The same address with another token is counted apart.
        assert (await client.get("/api/v1/surveys", headers={"Authorization": f"Bearer {second}"})).status_code == 200
        # A submission with a token is counted against the token, not the address's allowance.
        url = f"/api/v1/surveys/{survey}/responses"
        assert (await client.post(url, json=GOOD)).status_code == 201
        assert (await client.post(url, json=GOOD)).status_code == 429
        sent = await client.post(url, json=GOOD, headers={"Authorization": f"Bearer {second}"})
        assert sent.status_code == 201, sent.text


# --- the pages' last step, and answering again in the same browser ---------------------------------------


async def answer_everything(client: Client, survey: int) -> None:
    """Answer every page up to the check page."""
    steps = [("district", {"district": PRESTON}), ("issues", {"picks": ["fraud"]}), ("comment", {}), ("about-you", {})]
    for page, data in steps:
        shown = await client.get(f"/surveys/{survey}/{page}")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', shown.text)
        assert token, page
        sent = await client.post(
            f"/surveys/{survey}/{page}", data={"_csrf_token": token.group(1), **data}, follow_redirects=False
        )
        assert sent.status_code == 303, (page, sent.text[:1000])


async def send_answers(client: Client, survey: int) -> Any:
    shown = await client.get(f"/surveys/{survey}/check")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', shown.text)
    assert token
    return await client.post(f"/surveys/{survey}/check", data={"_csrf_token": token.group(1)}, follow_redirects=False)


ALREADY = "Someone has already answered this survey in this browser"


@pytest.mark.parametrize("path", ["litestar", "fast-pages"])
async def test_the_last_page_over_the_limit_says_how_long_to_wait_and_keeps_the_answers(
    database_url: str, engine: AsyncEngine, path: str
) -> None:
    survey = await publish_survey(engine)
    app = create_app(limited(database_url, rate_limit_submit="1/minute"))
    async with AsyncTestClient(app=app if path == "litestar" else FastPages(app)) as client:  # type: ignore[arg-type]
        await answer_everything(client, survey)
        assert (await send_answers(client, survey)).status_code == 303
        await answer_everything(client, survey)
        refused = await send_answers(client, survey)
        assert_refused_for_a_while(refused)
        assert "text/html" in refused.headers["content-type"]
        page = text_of(refused.text)
        assert "Wait " in page and "Your answers have been kept" in page
        assert f'href="/surveys/{survey}/check"' in refused.text
        # The answers are still there to send once the wait is over.
        check = await client.get(f"/surveys/{survey}/check")
        assert check.status_code == 200 and "Fraud" in check.text
    assert await count_stored(engine) == (1, 1)


@pytest.mark.parametrize("path", ["litestar", "fast-pages"])
async def test_a_browser_that_answered_is_told_so_may_answer_again_and_the_report_counts_it(
    database_url: str, engine: AsyncEngine, path: str
) -> None:
    survey = await publish_survey(engine)
    app = create_app(limited(database_url))
    async with AsyncTestClient(app=app if path == "litestar" else FastPages(app)) as client:  # type: ignore[arg-type]
        assert ALREADY not in text_of((await client.get(f"/surveys/{survey}")).text)
        await answer_everything(client, survey)
        assert ALREADY not in text_of((await client.get(f"/surveys/{survey}/check")).text)
        assert (await send_answers(client, survey)).status_code == 303
        # Someone else in the household, on the same device.
        start = text_of((await client.get(f"/surveys/{survey}")).text)
        assert ALREADY in start and "they can still answer" in start
        await answer_everything(client, survey)
        assert ALREADY in text_of((await client.get(f"/surveys/{survey}/check")).text)
        assert (await send_answers(client, survey)).status_code == 303
    async with AsyncTestClient(app=create_app(limited(database_url))) as other_browser:
        assert ALREADY not in text_of((await other_browser.get(f"/surveys/{survey}")).text)
        await answer_everything(other_browser, survey)
        assert (await send_answers(other_browser, survey)).status_code == 303
    async with engine.connect() as conn:
        flags = (await conn.execute(select(responses.c.repeat_in_browser).order_by(responses.c.id))).scalars().all()
    assert flags == [False, True, False]

    # The report: in the JSON (survey block and method notes) and on the analysts' overview page.
    await make_user(engine, "analyst@x.test", "analyst")
    token = await make_token(engine, 1)
    async with AsyncTestClient(app=create_app(limited(database_url))) as analyst:
        report = (
            await analyst.get(f"/api/v1/surveys/{survey}/report", headers={"Authorization": f"Bearer {token}"})
        ).json()
        assert report["survey"]["repeat_answers"] == {"numerator": 1, "denominator": 3, "value": pytest.approx(1 / 3)}
        assert any("1 of 3 responses (33.3%) came from a browser" in note for note in report["method"]["notes"])
        assert (await sign_in(analyst, "analyst@x.test")).status_code == 303
        overview = text_of((await analyst.get(f"/staff/surveys/{survey}/report")).text)
        assert "Answers from a browser that had already answered this survey 1 (33.3%)" in overview


async def test_api_answers_are_never_counted_as_repeats(database_url: str, engine: AsyncEngine) -> None:
    survey = await publish_survey(engine)
    async with AsyncTestClient(app=create_app(limited(database_url))) as client:
        for _ in range(2):
            assert (await client.post(f"/api/v1/surveys/{survey}/responses", json=GOOD)).status_code == 201
    async with engine.connect() as conn:
        flags = (await conn.execute(select(responses.c.repeat_in_browser))).scalars().all()
    assert flags == [False, False]


# --- a real server, two workers ---------------------------------------------------------------------


def post_at_once(url: str, n: int, headers: dict[str, str] | None = None) -> list[tuple[int, str | None]]:
    """POST GOOD ``n`` times at once from threads; (status, Retry-After) for each."""
    body = json.dumps(GOOD).encode()

    def one(_: int) -> tuple[int, str | None]:
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers.get("Retry-After")
        except urllib.error.HTTPError as refused:
            return refused.code, refused.headers.get("Retry-After")

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def limits_env(**more: str) -> dict[str, str]:
    return {"TALKING_RATE_LIMITS": "on", "TALKING_RATE_LIMIT_SUBMIT": "20/minute", **more}


def assert_exactly_the_limit(answers: list[tuple[int, str | None]], limit: int) -> None:
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * limit + [429] * (len(answers) - limit), statuses
    assert all(retry and 1 <= int(retry) <= 60 for status, retry in answers if status == 429)


async def test_two_workers_share_the_counts_in_the_sqlite_file(sqlite_url: str, tmp_path: Path) -> None:
    survey = await publish_survey_at_url(sqlite_url)
    env = limits_env(TALKING_TRUSTED_PROXIES="127.0.0.1")
    with live_server(sqlite_url, tmp_path, workers=2, extra_env=env) as server:
        url = f"{server.url}/api/v1/surveys/{survey}/responses"
        answers = await asyncio.to_thread(post_at_once, url, 60)
        assert_exactly_the_limit(answers, 20)
        # Behind a listed proxy (127.0.0.1 here), each address behind it has its own allowance...
        behind = await asyncio.to_thread(post_at_once, url, 3, {"X-Forwarded-For": "203.0.113.9"})
        assert sorted(s for s, _ in behind) == [201, 201, 201]
        # ...which the client cannot renew by writing another address to the left of the proxy's.
        more = await asyncio.to_thread(post_at_once, url, 20, {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
        assert sorted(s for s, _ in more) == [201] * 17 + [429] * 3
    assert (tmp_path / "talking.limits.db").exists()
    engine = create_engine_for(sqlite_url)
    try:
        assert (await count_stored(engine))[0] == 40
    finally:
        await engine.dispose()


async def test_two_workers_share_the_counts_in_redis(sqlite_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    survey = await publish_survey_at_url(sqlite_url)
    env = limits_env(TALKING_REDIS_URL="redis://127.0.0.1:6379/0")
    try:
        with live_server(sqlite_url, tmp_path, workers=2, extra_env=env) as server:
            url = f"{server.url}/api/v1/surveys/{survey}/responses"
            assert_exactly_the_limit(await asyncio.to_thread(post_at_once, url, 60), 20)
            # No proxy is listed, so X-Forwarded-For buys nothing.
            spoofed = await asyncio.to_thread(post_at_once, url, 3, {"X-Forwarded-For": "203.0.113.9"})
            assert [s for s, _ in spoofed] == [429, 429, 429]
        # The counts were in Redis (under this database's name), not in the file beside it.
        assert list(client.scan_iter("talking_limits:*/submit/127.0.0.1/*"))
        assert not (tmp_path / "talking.limits.db").exists()
    finally:
        for key in client.scan_iter("talking_limits:*/submit/127.0.0.1/*"):
            client.delete(key)
        client.close()


def create_engine_for(url: str) -> AsyncEngine:
    from talking.db.engine import create_engine

    return create_engine(url)


async def publish_survey_at_url(url: str) -> int:
    engine = create_engine_for(url)
    try:
        return await publish_survey(engine)
    finally:
        await engine.dispose()
