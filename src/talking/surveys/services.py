"""Survey definitions and response submission: the rules and the queries of the resident side."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from talking.db.models import survey_districts, survey_issues, survey_questions, surveys
from talking.errors import InvalidResponse, InvitationRefused, SurveyNotFound, SurveyNotOpen
from talking.surveys.batches import PendingResponse, request_digest
from talking.surveys.invited import admit_invitation
from talking.surveys.schemas import QuestionOption, Receipt, ResponseCreate, Survey, SurveyIssue, SurveyQuestion
from talking.surveys.validation import clean_comment, response_errors
from talking.surveys.writer import ResponseWriter


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class SurveyCatalogue:
    """Survey definitions, read from the database and kept for a few seconds.

    A published survey's questions never change, so caching them is safe; whether it is still
    open is checked again inside the transaction that stores each response (see writer.py).
    """

    def __init__(self, engine: AsyncEngine, ttl_seconds: float = 5.0) -> None:
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self._cache: dict[int, tuple[float, Survey]] = {}
        # One load per survey at a time: requests arriving while it runs wait for it.
        self._loading: dict[int, asyncio.Task[list[Survey]]] = {}

    async def get(self, survey_id: int) -> Survey:
        """The survey with this id, or SurveyNotFound."""
        hit = self._cache.get(survey_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_seconds:
            return hit[1]
        loading = self._loading.get(survey_id)
        if loading is None:
            loading = asyncio.create_task(self._load([survey_id]))
            self._loading[survey_id] = loading
            loading.add_done_callback(lambda _task: self._loading.pop(survey_id, None))
        found = await asyncio.shield(loading)
        if not found:
            raise SurveyNotFound(survey_id)
        self._cache[survey_id] = (time.monotonic(), found[0])
        return found[0]

    async def get_open(self, survey_id: int, now: datetime | None = None) -> Survey:
        """The survey with this id if residents may answer it now; SurveyNotFound or SurveyNotOpen."""
        survey = await self.get(survey_id)
        if not survey.is_open_at(now or utcnow()):
            raise SurveyNotOpen(survey.id, survey.status if survey.status != "open" else "outside its dates")
        return survey

    async def list_open(self, now: datetime | None = None) -> list[Survey]:
        """Surveys anyone may answer now, closing soonest first (members surveys are reached by invitation)."""
        now = now or utcnow()
        async with self.engine.connect() as conn:
            ids = (await conn.execute(select(surveys.c.id).where(surveys.c.status == "open"))).scalars().all()
        found = [s for s in await self._load(list(ids)) if s.is_open_at(now) and s.audience == "open"]
        far_future = datetime.max.replace(tzinfo=UTC)
        return sorted(found, key=lambda s: (s.closes_at or far_future, s.id))

    def forget(self, survey_id: int) -> None:
        """Drop a cached definition (after its status changes in this process)."""
        self._cache.pop(survey_id, None)

    async def load(self, survey_id: int) -> Survey:
        """The survey as the database has it now, bypassing the cache (staff pages)."""
        found = await self._load([survey_id])
        if not found:
            raise SurveyNotFound(survey_id)
        return found[0]

    async def _load(self, ids: list[int]) -> list[Survey]:
        if not ids:
            return []
        async with self.engine.connect() as conn:
            return await load_surveys(conn, ids)


async def load_surveys(conn: AsyncConnection, ids: list[int]) -> list[Survey]:
    """Survey definitions with their issues, districts and extra questions, in id order."""
    rows = (await conn.execute(select(surveys).where(surveys.c.id.in_(ids)).order_by(surveys.c.id))).all()
    issue_rows = await conn.execute(
        select(survey_issues)
        .where(survey_issues.c.survey_id.in_(ids))
        .order_by(survey_issues.c.survey_id, survey_issues.c.position)
    )
    district_rows = await conn.execute(
        select(survey_districts).where(survey_districts.c.survey_id.in_(ids)).order_by(survey_districts.c.district_code)
    )
    question_rows = await conn.execute(
        select(survey_questions)
        .where(survey_questions.c.survey_id.in_(ids))
        .order_by(survey_questions.c.survey_id, survey_questions.c.position)
    )
    offered: dict[int, list[SurveyIssue]] = {}
    for row in issue_rows:
        offered.setdefault(row.survey_id, []).append(SurveyIssue(code=row.code, label=row.label))
    covered: dict[int, list[str]] = {}
    for row in district_rows:
        covered.setdefault(row.survey_id, []).append(row.district_code)
    asked: dict[int, list[SurveyQuestion]] = {}
    for row in question_rows:
        asked.setdefault(row.survey_id, []).append(
            SurveyQuestion(
                key=row.key,
                kind=row.kind,
                prompt=row.prompt,
                hint=row.hint,
                options=msgspec.json.decode(row.options, type=tuple[QuestionOption, ...]),
                required=row.required,
            )
        )
    return [
        Survey(
            id=row.id,
            title=row.title,
            introduction=row.introduction,
            max_picks=row.max_picks,
            status=row.status,
            issues=tuple(offered.get(row.id, ())),
            opens_at=row.opens_at,
            closes_at=row.closes_at,
            districts=tuple(covered.get(row.id, ())),
            questions=tuple(asked.get(row.id, ())),
            ask_about_you=row.ask_about_you,
            wave=row.wave,
            previous_wave_id=row.previous_wave_id,
            audience=row.audience,
        )
        for row in rows
    ]


def encode_answers(survey: Survey, answers: dict[str, str | list[str]]) -> tuple[tuple[str, str], ...]:
    """Extra answers as stored: option codes as given, a JSON list for multiple choice, cleaned text."""
    stored = []
    for question in survey.questions:
        value = answers.get(question.key)
        if value is None or value == []:
            continue
        if question.kind == "multiple_choice":
            stored.append((question.key, msgspec.json.encode(value).decode()))
        elif question.kind == "free_text":
            if text := clean_comment(value):  # type: ignore[arg-type]
                stored.append((question.key, text))
        else:
            stored.append((question.key, value))  # type: ignore[arg-type]
    return tuple(stored)


async def submit_api_response(
    catalogue: SurveyCatalogue,
    writer: ResponseWriter,
    survey_id: int,
    response: ResponseCreate,
    *,
    idempotency_key: str | None,
) -> Receipt:
    """``POST /api/v1/surveys/{id}/responses``: the survey, its invitation if any, then the answers.

    The one body of the route, called by the Litestar handler (api.py) and the fast path
    (fast_submit.py) alike, so that the two cannot drift apart.
    """
    survey = await catalogue.get_open(survey_id)
    invitation = None
    if response.invitation is not None and survey.audience == "members":  # an open survey's: 422 (validation)
        response, invitation = await admit_invitation(
            catalogue.engine, survey, response, retry_allowed=idempotency_key is not None
        )
    return await submit_response(
        writer, survey, response, channel="api", idempotency_key=idempotency_key, invitation=invitation
    )


async def submit_response(
    writer: ResponseWriter,
    survey: Survey,
    response: ResponseCreate,
    *,
    channel: str,
    idempotency_key: str | None = None,
    repeat_in_browser: bool = False,
    invitation: bytes | None = None,
) -> Receipt:
    """Validate and store one response; returns only once it is committed.

    ``invitation`` is the hash of the token that lets a member answer a members survey (required
    there). Raises InvitationRefused (a members survey without one), InvalidResponse (nothing
    stored), SurveyNotOpen (checked again at commit), InvitationUsed (claimed at commit), or
    IdempotencyConflict (the key was used before with different answers).
    """
    if survey.audience == "members" and invitation is None:
        raise InvitationRefused(
            survey.id, 'This survey is for invited panel members: send the "invitation" from the member\'s link.'
        )
    errors = response_errors(survey, response)
    if errors:
        raise InvalidResponse(errors)
    pending = PendingResponse(
        survey_id=survey.id,
        district=response.district or "",
        picks=tuple(response.picks),
        comment=clean_comment(response.comment),
        age_band=response.age_band,
        sex=response.sex,
        channel=channel,
        idempotency_key=idempotency_key,
        digest=request_digest(response) if idempotency_key else None,
        answers=encode_answers(survey, response.answers),
        repeat_in_browser=repeat_in_browser,
        invitation=invitation,
    )
    return await writer.submit(pending)
