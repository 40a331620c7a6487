"""The OpenAPI description tells the truth: schemathesis sends generated requests, good and bad, to a
real `talking serve` (SQLite, the fast paths in front) with an admin's token, and every answer must be
one the description lists, with the media type and schema it says: no server errors, no mismatch.

Bounded: a few dozen examples per operation (about two minutes in all on this machine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from talking.db.engine import create_engine
from talking.testing.databases import fresh_database
from talking.testing.server import LiveServer, live_server
from talking.testing.surveys import DEMO_ISSUES, publish_survey

from ..conftest import make_token, make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 40
# The open survey (1), the draft (2), the closed one (3), the waves and drafts the run makes, or as generated.
EXISTING_OR_NOT = st.one_of(st.none(), st.integers(min_value=1, max_value=6))


async def _prepare(database_url: str) -> str:
    """Surveys in every state (open with answers, draft, closed) and an admin's token."""
    engine = create_engine(database_url)
    try:
        await publish_survey(engine)
        async with engine.begin() as conn:
            from talking.questionnaires.schemas import SurveyCreate
            from talking.questionnaires.services import close, create_survey, publish

            await create_survey(conn, SurveyCreate(title="A draft", issues=DEMO_ISSUES))
            closed = await create_survey(conn, SurveyCreate(title="Closed", issues=DEMO_ISSUES))
            await publish(conn, closed)
            await close(conn, closed, actor=None)
        user_id = await make_user(engine, "admin@example.org", "admin")
        return await make_token(engine, user_id)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def server_and_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A live server on a fresh SQLite file holding surveys in every state and answers to the open one."""
    workdir = tmp_path_factory.mktemp("openapi")
    with fresh_database("sqlite", Path(workdir)) as database:
        token = asyncio.run(_prepare(database.url))
        with live_server(database.url, Path(workdir), extra_env={"TALKING_RATE_LIMITS": "off"}) as server:
            for picks in (DEMO_ISSUES[:3], DEMO_ISSUES[2:7], DEMO_ISSUES[:1]) * 8:
                answer = {"district": "E07000123", "picks": list(picks), "age_band": "45-54"}
                created = httpx.post(f"{server.url}/api/v1/surveys/1/responses", json=answer, timeout=10)
                assert created.status_code == 201, created.text
            yield server, token


def answers_are_described(operation: Any, mode: GenerationMode, token: str) -> Callable[[], None]:
    """A Hypothesis test sending ``mode`` requests to one operation and checking every answer."""
    positive = mode is GenerationMode.POSITIVE

    @given(case=operation.as_strategy(generation_mode=mode), survey_id=EXISTING_OR_NOT)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,  # the same requests every run: a failure here is a failure every time
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: schemathesis.Case, survey_id: int | None) -> None:
        # Random ids are nearly always unknown: half the good requests go to surveys that exist.
        if positive and survey_id is not None and "survey_id" in (case.path_parameters or {}):
            case.path_parameters["survey_id"] = survey_id
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    return check


def test_every_answer_is_described(server_and_token: tuple[LiveServer, str]) -> None:
    """Good requests (the schema's own data) and bad ones (data that breaks it) to every operation."""
    server, token = server_and_token
    api = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    for found in api.get_all_operations():
        operation = found.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                answers_are_described(operation, mode, token)()
            except Unsatisfiable:  # nothing to break: an operation that takes no input at all
                continue
            except (Exception, BaseExceptionGroup) as exc:  # one operation's failure must not hide another's
                failures[f"{operation.label} ({mode.value})"] = str(exc)[:2000]
    assert operations >= 14
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
