"""Publishing and withdrawing a survey's results, and reading what is published.

A publication freezes the survey's public figures (results.figures, from the report service) in the
same transaction that records who published and bumps the results stamp, so every worker's cache
(results.cache) sees the change. A survey still open gets interim results; once closed, final ones.
Publishing again replaces interim results (the newer snapshot); final results stay until withdrawn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking import audit
from talking.db.models import published_results, results_stamp, surveys
from talking.errors import SurveyNotFound, WrongSurveyState
from talking.principal import Principal
from talking.reports.service import SurveyReport
from talking.results.figures import public_figures
from talking.results.schemas import PublicFigures, PublishedSummary, Stage

Db = AsyncSession | AsyncConnection
_decode_figures = msgspec.json.Decoder(PublicFigures).decode


class NothingPublished(LookupError):
    """The survey has no published results (to withdraw, or to show)."""


def stage_of(status: str) -> Stage:
    """Final once the survey is closed; interim while it still takes answers."""
    return "final" if status == "closed" else "interim"


async def bump_stamp(db: Db) -> None:
    """Tell every worker's results cache that something public changed (in the caller's transaction)."""
    await db.execute(update(results_stamp).where(results_stamp.c.id == 1).values(version=results_stamp.c.version + 1))


async def read_stamp(db: Db) -> int:
    """The results stamp as of now."""
    return (await db.execute(select(results_stamp.c.version).where(results_stamp.c.id == 1))).scalar_one()


async def survey_status(db: Db, survey_id: int) -> str:
    """The survey's status; SurveyNotFound if there is none."""
    status = (await db.execute(select(surveys.c.status).where(surveys.c.id == survey_id))).scalar_one_or_none()
    if status is None:
        raise SurveyNotFound(survey_id)
    return status


def check_publishable(built: SurveyReport, live_stage: str | None) -> Stage:
    """The stage a publication of this report would have; WrongSurveyState when it cannot be published."""
    status = built.frame.status
    if status == "draft":
        raise WrongSurveyState("A draft survey has no answers to publish: publish the survey itself first")
    if built.report.responses == 0:
        raise WrongSurveyState("The survey has no answers yet, so there are no results to publish")
    if live_stage == "final":
        raise WrongSurveyState("The final results are published already; withdraw them first to publish again")
    return stage_of(status)


async def publish(db: Db, built: SurveyReport, *, actor: Principal | None, ip: str | None) -> PublishedSummary:
    """Freeze the report's public figures as the survey's published results (replacing interim ones)."""
    survey_id = built.frame.id
    await survey_status(db, survey_id)  # still there, and (SQLite) the write lock taken before the checks
    live = await _live_row(db, survey_id)
    stage = check_publishable(built, live.stage if live is not None else None)
    now = datetime.now(UTC)
    if live is not None:  # interim results, superseded by these
        await db.execute(
            update(published_results)
            .where(published_results.c.id == live.id)
            .values(withdrawn_at=now, withdrawn_by_id=actor.user_id if actor else None)
        )
    figures = public_figures(built, stage)
    try:
        await db.execute(
            insert(published_results).values(
                survey_id=survey_id,
                stage=stage,
                responses=figures.responses,
                figures=msgspec.json.encode(figures).decode(),
                published_at=now,
                published_by_id=actor.user_id if actor else None,
            )
        )
    except IntegrityError as exc:  # another member of staff published in the same moment (PostgreSQL)
        raise WrongSurveyState("These results were published a moment ago by someone else") from exc
    await bump_stamp(db)
    detail = {"stage": stage, "responses": figures.responses}
    await audit.record(
        db, "results_published", actor=actor, target_type="survey", target_id=survey_id, detail=detail, ip=ip
    )
    return PublishedSummary(survey_id, stage, figures.responses, now, f"/results/{survey_id}")


async def withdraw(db: Db, survey_id: int, *, actor: Principal | None, ip: str | None) -> None:
    """Take the survey's results off the public pages; NothingPublished if there are none."""
    await survey_status(db, survey_id)
    live = await _live_row(db, survey_id)
    if live is None:
        raise NothingPublished(survey_id)
    await db.execute(
        update(published_results)
        .where(published_results.c.id == live.id)
        .values(withdrawn_at=datetime.now(UTC), withdrawn_by_id=actor.user_id if actor else None)
    )
    await bump_stamp(db)
    await audit.record(db, "results_withdrawn", actor=actor, target_type="survey", target_id=survey_id, ip=ip)


class Publication(msgspec.Struct, frozen=True):
    """A live publication: its figures, when, and how it stood then."""

    survey_id: int
    stage: Stage
    published_at: datetime
    figures: PublicFigures


async def live_publication(db: Db, survey_id: int) -> Publication | None:
    """The survey's published results, or None."""
    row = await _live_row(db, survey_id, with_figures=True)
    if row is None:
        return None
    return Publication(survey_id, row.stage, row.published_at, _decode_figures(row.figures))


async def live_publications(db: Db) -> list[Row[Any]]:
    """Every live publication (survey id, title, wave, stage, responses, published_at), newest first."""
    query = (
        select(
            published_results.c.survey_id,
            surveys.c.title,
            surveys.c.wave,
            published_results.c.stage,
            published_results.c.responses,
            published_results.c.published_at,
        )
        .join(surveys, surveys.c.id == published_results.c.survey_id)
        .where(published_results.c.withdrawn_at.is_(None))
        .order_by(published_results.c.published_at.desc(), published_results.c.id.desc())
    )
    return list(await db.execute(query))


async def publication_count(db: Db, survey_id: int) -> int:
    """How many times the survey's results were published (withdrawn and superseded ones included)."""
    query = select(func.count()).select_from(published_results).where(published_results.c.survey_id == survey_id)
    return (await db.execute(query)).scalar_one()


async def _live_row(db: Db, survey_id: int, *, with_figures: bool = False) -> Row[Any] | None:
    columns = [published_results.c.id, published_results.c.stage, published_results.c.published_at]
    if with_figures:
        columns.append(published_results.c.figures)
    query = select(*columns).where(
        published_results.c.survey_id == survey_id, published_results.c.withdrawn_at.is_(None)
    )
    return (await db.execute(query)).one_or_none()
