"""Survey definitions and response submission: the rules and the queries of the resident side."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import survey_issues, surveys
from talking.reference import issues_by_code
from talking.surveys.errors import InvalidResponse, SurveyNotFound, SurveyNotOpen
from talking.surveys.schemas import (
    FieldError,
    Receipt,
    ResponseCreate,
    Survey,
    SurveyCreate,
    SurveyIssue,
)
from talking.surveys.validation import clean_comment, response_errors
from talking.surveys.writer import PendingResponse, ResponseWriter, request_digest


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

    async def get(self, survey_id: int) -> Survey:
        """The survey with this id, or SurveyNotFound."""
        hit = self._cache.get(survey_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_seconds:
            return hit[1]
        found = await self._load([survey_id])
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
        """Surveys residents may answer now, closing soonest first."""
        now = now or utcnow()
        async with self.engine.connect() as conn:
            ids = (await conn.execute(select(surveys.c.id).where(surveys.c.status == "open"))).scalars().all()
        found = [s for s in await self._load(list(ids)) if s.is_open_at(now)]
        far_future = datetime.max.replace(tzinfo=UTC)
        return sorted(found, key=lambda s: (s.closes_at or far_future, s.id))

    def forget(self, survey_id: int) -> None:
        """Drop a cached definition (after its status changes in this process)."""
        self._cache.pop(survey_id, None)

    async def _load(self, ids: list[int]) -> list[Survey]:
        if not ids:
            return []
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(surveys).where(surveys.c.id.in_(ids)).order_by(surveys.c.id))).all()
            issue_rows = (
                await conn.execute(
                    select(survey_issues)
                    .where(survey_issues.c.survey_id.in_(ids))
                    .order_by(survey_issues.c.survey_id, survey_issues.c.position)
                )
            ).all()
        offered: dict[int, list[SurveyIssue]] = {}
        for row in issue_rows:
            offered.setdefault(row.survey_id, []).append(SurveyIssue(code=row.code, label=row.label))
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
            )
            for row in rows
        ]


async def create_survey(engine: AsyncEngine, data: SurveyCreate) -> int:
    """Store a new survey offering taxonomy issues in the given order; returns its id."""
    taxonomy = issues_by_code()
    unknown = [code for code in data.issues if code not in taxonomy]
    if unknown or not data.issues or len(set(data.issues)) != len(data.issues):
        raise InvalidResponse([FieldError("issues", f"Issues must be distinct taxonomy codes; unknown: {unknown}")])
    if data.max_picks > len(data.issues):
        raise InvalidResponse([FieldError("max_picks", "A survey cannot ask for more picks than it offers issues")])
    now = utcnow()
    async with engine.begin() as conn:
        survey_id = (
            await conn.execute(
                insert(surveys)
                .values(
                    title=data.title,
                    introduction=data.introduction,
                    max_picks=data.max_picks,
                    status=data.status,
                    opens_at=data.opens_at,
                    closes_at=data.closes_at,
                    created_at=now,
                    updated_at=now,
                )
                .returning(surveys.c.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(survey_issues),
            [
                {"survey_id": survey_id, "code": code, "position": position, "label": taxonomy[code].label}
                for position, code in enumerate(data.issues, start=1)
            ],
        )
    return survey_id


async def submit_response(
    writer: ResponseWriter,
    survey: Survey,
    response: ResponseCreate,
    *,
    channel: str,
    idempotency_key: str | None = None,
) -> Receipt:
    """Validate and store one response; returns only once it is committed.

    Raises InvalidResponse (nothing stored), SurveyNotOpen (checked again at commit),
    or IdempotencyConflict (the key was used before with different answers).
    """
    errors = response_errors(survey, response)
    if errors:
        raise InvalidResponse(errors)
    pending = PendingResponse(
        survey_id=survey.id,
        district=response.district,
        picks=tuple(response.picks),
        comment=clean_comment(response.comment),
        age_band=response.age_band,
        sex=response.sex,
        channel=channel,
        idempotency_key=idempotency_key,
        digest=request_digest(response) if idempotency_key else None,
    )
    return await writer.submit(pending)
