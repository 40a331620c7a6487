"""How a survey is doing: each survey's summary with its response count, and counts by district.

The staff side's reads of what has come in (from the running tallies, and the invitations' response
rates), kept apart from services.py, which builds and runs questionnaires.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select

from talking.db.models import survey_districts, surveys, tally_respondents
from talking.errors import SurveyNotFound
from talking.invitations.rates import response_rates
from talking.questionnaires.schemas import DistrictCount, SurveySummary
from talking.questionnaires.services import Db, state_of
from talking.reference import districts_by_code
from talking.tallies import respondent_counts


async def list_surveys(db: Db) -> list[SurveySummary]:
    """Every survey, newest first, with its response count."""
    return await _summaries(db)


async def survey_summary(db: Db, survey_id: int) -> SurveySummary:
    """One survey's summary (SurveyNotFound if there is no such survey)."""
    found = await _summaries(db, surveys.c.id == survey_id)
    if not found:
        raise SurveyNotFound(survey_id)
    return found[0]


async def _summaries(db: Db, *where: ColumnElement[bool]) -> list[SurveySummary]:
    # From the running tallies: a read of a few rows per district instead of a scan of every response.
    counts = respondent_counts(tally_respondents.c.survey_id).subquery()
    rows = await db.execute(
        select(surveys, func.coalesce(counts.c.respondents, 0).label("n"))
        .outerjoin(counts, counts.c.survey_id == surveys.c.id)
        .where(*where)
        .order_by(surveys.c.id.desc())
    )
    now = datetime.now(UTC)
    return [
        SurveySummary(
            id=r.id,
            title=r.title,
            status=r.status,
            state=state_of(r.status, r.opens_at, r.closes_at, now),
            wave=r.wave,
            previous_wave_id=r.previous_wave_id,
            opens_at=r.opens_at,
            closes_at=r.closes_at,
            created_at=r.created_at,
            responses=int(r.n),
            audience=r.audience,
        )
        for r in rows
    ]


async def district_counts(db: Db, survey_id: int) -> list[DistrictCount]:
    """Responses so far from each district the survey covers (zeros included), by district name, with
    each district's invitations and answers to them (zeros for an open survey)."""
    covered = (
        (await db.execute(select(survey_districts.c.district_code).where(survey_districts.c.survey_id == survey_id)))
        .scalars()
        .all()
    )
    counted = {
        code: int(n)
        for code, n in await db.execute(
            respondent_counts(tally_respondents.c.district_code).where(tally_respondents.c.survey_id == survey_id)
        )
    }
    names = districts_by_code()
    rates = {d.code: d for d in (await response_rates(db, survey_id)).districts}
    codes = set(covered) | set(counted) | set(rates)
    return sorted(
        (
            DistrictCount(
                code=c,
                name=names[c].name,
                responses=counted.get(c, 0),
                invited=rates[c].invited if c in rates else 0,
                answered=rates[c].answered if c in rates else 0,
            )
            for c in codes
        ),
        key=lambda d: d.name,
    )
