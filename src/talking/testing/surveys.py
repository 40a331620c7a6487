"""A published survey, open now, for tests and benchmarks to answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from talking.db.engine import create_engine
from talking.questionnaires.schemas import SurveyCreate
from talking.questionnaires.services import create_survey, publish

# The issues the demo survey offers; the test and benchmark surveys offer the same eight.
DEMO_ISSUES = (
    "anti-social-behaviour",
    "road-safety",
    "drug-dealing-and-taking",
    "burglary",
    "criminal-damage",
    "alcohol",
    "fraud",
    "violent-crime",
)


async def publish_survey(target: AsyncEngine | AsyncConnection | AsyncSession, **overrides: object) -> int:
    """Create and publish a survey offering the demo issues, five picks, open now unless overridden; returns its id.

    On an engine, in a transaction of its own; on a connection or session, in the caller's.
    """
    if isinstance(target, AsyncEngine):
        async with target.begin() as conn:
            return await publish_survey(conn, **overrides)
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "title": "Lancashire Talking test survey",
        "introduction": "Tell us what matters where you live.",
        "issues": DEMO_ISSUES,
        "max_picks": 5,
        "opens_at": now - timedelta(days=1),
        "closes_at": now + timedelta(days=30),
        **overrides,
    }
    survey_id = await create_survey(target, SurveyCreate(**fields))  # type: ignore[arg-type]
    await publish(target, survey_id)
    return survey_id


def publish_survey_at(database_url: str, **overrides: object) -> int:
    """``publish_survey`` from code with no event loop running: on an engine and a loop of its own."""

    async def create() -> int:
        engine = create_engine(database_url)
        try:
            return await publish_survey(engine, **overrides)
        finally:
            await engine.dispose()

    return asyncio.run(create())
