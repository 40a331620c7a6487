"""Retention and erasure on real databases: what goes, what stays, the tallies equal to a recount,
the audit log written; the daily run claimed by one worker among many; the privacy notice's period."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking import retention
from talking.app import create_app
from talking.db.engine import create_engine
from talking.db.models import audit_events, response_answers, response_picks, responses, surveys
from talking.questionnaires.schemas import QuestionCreate
from talking.settings import Settings
from talking.testing.surveys import publish_survey_at

from ..conftest import live_server, publish_survey, talking
from .tally_check import tallies_and_recount

QUESTIONS = (
    QuestionCreate(kind="free_text", prompt="Why?", key="why"),
    QuestionCreate(kind="agreement", prompt="I feel safe", key="safe"),
)
AGES = ("16-24", "45-54", "75-and-over", "prefer-not-to-say", None)


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


def answer(n: int) -> dict[str, object]:
    """A varied answer: different districts, picks, ages, with and without comments."""
    issues = ["burglary", "fraud", "alcohol", "road-safety", "violent-crime"]
    body: dict[str, object] = {
        "district": ("E07000123", "E07000117", "E06000008")[n % 3],
        "picks": issues[n % 5 :] + issues[: n % 3],
        "answers": {"safe": "agree", **({"why": f"Because {n}"} if n % 2 else {})},
    }
    body["picks"] = list(dict.fromkeys(body["picks"]))[:5]  # type: ignore[call-overload]
    if n % 4:
        body["comment"] = f"Comment {n}"
    if AGES[n % 5]:
        body["age_band"] = AGES[n % 5]
        body["sex"] = "female" if n % 2 else "male"
    return body


async def submit(client: AsyncTestClient[Litestar], survey_id: int, count: int) -> list[str]:
    """Submit ``count`` answers through the API; their references."""
    references = []
    for n in range(count):
        response = await client.post(f"/api/v1/surveys/{survey_id}/responses", json=answer(n))
        assert response.status_code == 201, response.text
        references.append(response.json()["reference"])
    return references


async def close_long_ago(engine: AsyncEngine, survey_id: int, days: int) -> None:
    """Close a survey, as if it had closed ``days`` ago."""
    async with engine.begin() as conn:
        closed = datetime.now(UTC) - timedelta(days=days)
        await conn.execute(update(surveys).where(surveys.c.id == survey_id).values(status="closed", closed_at=closed))


async def scalar(engine: AsyncEngine, query) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(query)).scalar_one()


async def audit_details(engine: AsyncEngine, action: str) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(audit_events.c.detail).where(audit_events.c.action == action))
        return [json.loads(detail) for (detail,) in rows]


@pytest.mark.load  # answers many surveys from one client
async def test_retention_removes_what_residents_wrote_and_told_of_themselves_from_surveys_long_closed(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "CHUNK", 7)  # many chunks, one ending exactly at the last response
    old = await publish_survey(engine, title="Closed long ago", questions=QUESTIONS)
    recent = await publish_survey(engine, title="Closed lately", questions=QUESTIONS)
    still_open = await publish_survey(engine, title="Open", questions=QUESTIONS)
    for survey_id in (old, recent, still_open):
        await submit(client, survey_id, 21)
    await close_long_ago(engine, old, days=366)
    await close_long_ago(engine, recent, days=364)
    picks_before = await scalar(engine, select(func.count()).select_from(response_picks))

    run = await retention.apply_retention(engine, 365, actor_email="tests")

    assert run.surveys == [old]
    assert (run.comments, run.about_you, run.free_text_answers) == (15, 17, 10)
    in_survey = responses.c.survey_id == old
    written = (responses.c.comment.is_not(None)) | (responses.c.age_band.is_not(None)) | (responses.c.sex.is_not(None))
    assert await scalar(engine, select(func.count()).where(in_survey, written)) == 0
    assert await scalar(engine, select(func.count()).where(in_survey)) == 21  # the responses stay
    for other in (recent, still_open):
        assert await scalar(engine, select(func.count()).where(responses.c.survey_id == other, written)) == 20
    answers = select(response_answers.c.question_key, func.count()).join(responses).where(in_survey)
    async with engine.connect() as conn:
        kept = dict((await conn.execute(answers.group_by(response_answers.c.question_key))).all())
    assert kept == {"safe": 21}  # the free-text answers went, the agreement stayed
    assert await scalar(engine, select(func.count()).select_from(response_picks)) == picks_before
    kept_tallies, recounted = tallies_and_recount(database_url)
    assert kept_tallies == recounted
    assert await audit_details(engine, "retention_applied") == [
        {"days": 365, "surveys": [old], "comments": 15, "about_you": 17, "free_text_answers": 10}
    ]

    again = await retention.apply_retention(engine, 365, actor_email="tests")
    assert (again.surveys, again.comments, again.about_you, again.free_text_answers) == ([old], 0, 0, 0)
    assert tallies_and_recount(database_url)[0] == recounted


async def test_a_survey_past_its_closing_time_counts_as_closed(
    client: AsyncTestClient[Litestar], engine: AsyncEngine
) -> None:
    survey_id = await publish_survey(engine, questions=QUESTIONS)
    await submit(client, survey_id, 3)
    async with engine.begin() as conn:
        ended = datetime.now(UTC) - timedelta(days=40)
        await conn.execute(
            update(surveys).where(surveys.c.id == survey_id).values(opens_at=ended - timedelta(days=5), closes_at=ended)
        )
    assert (await retention.apply_retention(engine, 41, actor_email="tests")).surveys == []
    assert (await retention.apply_retention(engine, 39, actor_email="tests")).surveys == [survey_id]


async def test_a_resident_s_response_is_erased_by_its_reference(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    survey_id = await publish_survey(engine, questions=QUESTIONS)
    references = await submit(client, survey_id, 6)
    gone = references[3]
    typed = f"  {gone.lower()} "  # as a resident might read it out

    erased = await asyncio.to_thread(talking, "responses", "erase", typed, database_url=database_url, cwd=tmp_path)

    assert erased.returncode == 0, erased.stderr
    assert f"response {gone} to survey {survey_id} erased" in erased.stdout
    assert await scalar(engine, select(func.count()).where(responses.c.reference == gone)) == 0
    assert await scalar(engine, select(func.count()).select_from(responses)) == 5
    orphans = (
        select(func.count())
        .select_from(response_picks)
        .where(~response_picks.c.response_id.in_(select(responses.c.id)))
    )
    assert await scalar(engine, orphans) == 0
    kept, recounted = tallies_and_recount(database_url)
    assert kept == recounted
    async with engine.connect() as conn:
        event = (await conn.execute(select(audit_events).where(audit_events.c.action == "response_erased"))).one()
    assert (event.target_type, event.target_id, event.actor_email) == ("response", gone, "command line")
    assert json.loads(event.detail)["survey_id"] == survey_id

    again = await asyncio.to_thread(talking, "responses", "erase", gone, database_url=database_url, cwd=tmp_path)
    assert again.returncode != 0
    assert "no response has the reference" in again.stderr and "Traceback" not in again.stderr
    assert len(await audit_details(engine, "response_erased")) == 1


async def test_retention_apply_on_the_command_line(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    survey_id = await publish_survey(engine, questions=QUESTIONS)
    await submit(client, survey_id, 4)
    await close_long_ago(engine, survey_id, days=31)
    env_days = {"TALKING_RETENTION_DAYS": "30"}
    os.environ.update(env_days)
    try:
        done = await asyncio.to_thread(talking, "retention", "apply", database_url=database_url, cwd=tmp_path)
    finally:
        del os.environ["TALKING_RETENTION_DAYS"]
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr
    assert f"retention after 30 days applied to surveys {survey_id}: 3 comments" in done.stdout
    bad = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "talking", "retention", "apply"],
        env={**os.environ, "TALKING_DATABASE_URL": database_url, "TALKING_RETENTION_DAYS": "soon"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "TALKING_RETENTION_DAYS must be a whole number" in bad.stderr


async def test_one_worker_among_many_claims_the_daily_run(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(6)]
    try:
        claims = await asyncio.gather(*(retention.claim_daily_run(engine) for engine in engines))
        assert sorted(claims) == [False] * 5 + [True]
        assert not await retention.claim_daily_run(engines[0])  # the same day
        async with engines[0].begin() as conn:  # a day passes
            await conn.execute(update(audit_events).values(at=datetime.now(UTC) - timedelta(hours=23, minutes=1)))
        claims = await asyncio.gather(*(retention.claim_daily_run(engine) for engine in engines))
        assert sorted(claims) == [False] * 5 + [True]
    finally:
        for engine in engines:
            await engine.dispose()


def test_the_server_runs_retention_once_across_its_workers(database_url: str, tmp_path: Path) -> None:
    survey_id = publish_survey_at(database_url, questions=QUESTIONS)

    async def answer_then_close() -> None:
        app = create_app(Settings(database_url=database_url, secret_key="test-secret-key"))
        async with AsyncTestClient(app=app) as client:
            await submit(client, survey_id, 5)
        engine = create_engine(database_url)
        try:
            await close_long_ago(engine, survey_id, days=400)
        finally:
            await engine.dispose()

    async def progress() -> tuple[dict[str, int], int]:
        """Audit events by action, and responses still holding a comment."""
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                by_action = select(audit_events.c.action, func.count()).group_by(audit_events.c.action)
                events = dict((await conn.execute(by_action)).all())
                written = select(func.count()).where(responses.c.comment.is_not(None))
                return events, (await conn.execute(written)).scalar_one()
        finally:
            await engine.dispose()

    asyncio.run(answer_then_close())
    assert asyncio.run(progress())[1] == 3
    with live_server(database_url, tmp_path, workers=2):
        deadline = time.monotonic() + 30
        while not asyncio.run(progress())[0].get("retention_applied") and time.monotonic() < deadline:
            time.sleep(0.25)
        time.sleep(retention.FIRST_CHECK_SECONDS[1] + 1)  # past every worker's first check
        events, comments = asyncio.run(progress())
    assert (events.get("retention_started"), events.get("retention_applied"), comments) == (1, 1, 0)


async def test_the_privacy_notice_states_the_period(engine: AsyncEngine, database_url: str) -> None:
    for days in (365, 30):
        app = create_app(Settings(database_url=database_url, secret_key="test-secret-key", retention_days=days))
        async with AsyncTestClient(app=app) as client:
            page = await client.get("/privacy")
        assert page.status_code == 200
        assert f"deleted\n      {days} days after the survey closes" in page.text
        assert "LT-7K3M-9QX2" in page.text  # how to ask for erasure
