"""Retention and erasure: what residents wrote or told about themselves is kept only as long as the
privacy notice says, and a resident's whole response goes when they ask.

- ``apply_retention`` (`talking retention apply`, and each day by the server): for every survey
  closed more than ``TALKING_RETENTION_DAYS`` ago, removes the comments, the answers to free-text
  questions and the about-you answers (age band, sex). The picks and districts stay: they are the
  survey's result.
- ``erase_response`` (`talking responses erase REFERENCE`): deletes one response, found by the
  reference on its confirmation page, with its picks and answers.

Both keep the running tallies equal to a recount (``tallies.difference``: an answer's counts as
stored, taken away, and as they now are, added) and write the audit log, in the same transaction
as the change. Retention works through a survey in chunks, each its own transaction, so that
SQLite's write lock is never held for long while residents are answering; a chunk is complete or
not done, and a run stopped halfway is finished by the next.

The daily run: every worker of every server checks hourly, and one runs it. ``claim_daily_run``
serialises the check in the database (PostgreSQL: a transaction-level advisory lock; SQLite: a
transaction that takes the write lock at BEGIN) and claims the day by writing "retention_started"
to the audit log; a worker that finds a claim from the last 23 hours does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking import audit, tallies
from talking.db.models import (
    approved_quotes,
    audit_events,
    response_answers,
    response_picks,
    responses,
    results_stamp,
    survey_questions,
    surveys,
)
from talking.outages import note_outage, outage_of

log = logging.getLogger(__name__)

# Responses scrubbed per transaction: short enough that submissions waiting on SQLite's write
# lock wait milliseconds, and under SQLite's limit of bound parameters.
CHUNK = 500
# The daily run: checked this often by each worker, claimed once per DAY by one of them.
CHECK_EVERY_SECONDS = 3600
FIRST_CHECK_SECONDS = (1, 5)  # after start-up, at random within this: a claim is one short transaction
DAY = timedelta(hours=23)  # a little under a day, so the run does not drift later by an hour a day
SERVER = "server (daily retention)"
# pg_advisory_xact_lock's key for the daily claim: any fixed number no other code uses ("talkrtn").
_ADVISORY_LOCK_KEY = 0x74616C6B72746E


class ResponseNotFound(Exception):
    """No response has this reference."""


@dataclass
class RetentionRun:
    """What one retention run removed."""

    days: int
    surveys: list[int] = field(default_factory=list)
    comments: int = 0  # responses whose comment was removed
    about_you: int = 0  # responses whose age band or sex was removed
    free_text_answers: int = 0


@dataclass(frozen=True)
class _Due:
    """A survey whose retention period is over."""

    id: int
    max_picks: int
    free_text_keys: tuple[str, ...]


async def apply_retention(
    engine: AsyncEngine,
    days: int,
    *,
    actor_email: str,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RetentionRun:
    """Remove comments, free-text and about-you answers from surveys closed more than ``days`` ago."""
    now = now or datetime.now(UTC)
    writing = engine.execution_options(sqlite_immediate=True)
    async with engine.connect() as conn:
        due = await conn.run_sync(_surveys_due, now - timedelta(days=days))
        total = (
            await conn.execute(select(func.count()).where(responses.c.survey_id.in_([s.id for s in due])))
        ).scalar_one()
    run = RetentionRun(days=days, surveys=[survey.id for survey in due])
    done = 0
    for survey in due:
        after_id = 0
        while after_id is not None:
            async with writing.begin() as conn:
                after_id, seen = await conn.run_sync(_scrub_chunk, survey, after_id, run)
            done += seen
            if progress:
                progress(done, total)
    async with writing.begin() as conn:
        await audit.record(conn, "retention_applied", actor_email=actor_email, detail=asdict(run))
    return run


def _surveys_due(conn: Connection, ended_before: datetime) -> list[_Due]:
    """Surveys that stopped taking answers before ``ended_before``: closed by staff, or past their closing time."""
    ended = func.coalesce(surveys.c.closed_at, surveys.c.closes_at)
    rows = conn.execute(
        select(surveys.c.id, surveys.c.max_picks)
        .where(surveys.c.status != "draft", ended < ended_before)
        .where(or_(surveys.c.status == "closed", surveys.c.closes_at < ended_before))
        .order_by(surveys.c.id)
    ).all()
    free_text: dict[int, list[str]] = {}
    for survey_id, key in conn.execute(
        select(survey_questions.c.survey_id, survey_questions.c.key).where(survey_questions.c.kind == "free_text")
    ):
        free_text.setdefault(survey_id, []).append(key)
    return [_Due(row.id, row.max_picks, tuple(free_text.get(row.id, ()))) for row in rows]


_CHUNK_OF_RESPONSES = (
    select(responses.c.id, responses.c.district_code, responses.c.age_band, responses.c.sex, responses.c.comment)
    .where(responses.c.survey_id == bindparam("survey_id"), responses.c.id > bindparam("after_id"))
    .order_by(responses.c.id)
    .limit(bindparam("limit"))
)


def _scrub_chunk(conn: Connection, survey: _Due, after_id: int, run: RetentionRun) -> tuple[int | None, int]:
    """Scrub the next CHUNK of a survey's responses after ``after_id``: the last id (None: done), and how many."""
    rows = conn.execute(_CHUNK_OF_RESPONSES, {"survey_id": survey.id, "after_id": after_id, "limit": CHUNK}).all()
    if not rows:
        return None, 0
    ids = [row.id for row in rows]
    if survey.free_text_keys:
        removed = conn.execute(
            delete(response_answers).where(
                response_answers.c.response_id.in_(ids), response_answers.c.question_key.in_(survey.free_text_keys)
            )
        )
        run.free_text_answers += removed.rowcount
    changed = [row for row in rows if row.comment is not None or row.age_band is not None or row.sex is not None]
    if changed:
        picks = _picks_of(conn, [row.id for row in changed])
        before, after = [], []
        for row in changed:
            before.append(
                tallies.Counted(
                    survey.id, row.district_code, row.age_band, row.sex, picks[row.id], row.comment, survey.max_picks
                )
            )
            after.append(
                tallies.Counted(survey.id, row.district_code, None, None, picks[row.id], None, survey.max_picks)
            )
        conn.execute(
            update(responses)
            .where(responses.c.id.in_([row.id for row in changed]))
            .values(comment=None, age_band=None, sex=None)
        )
        tallies.add_deltas(conn, tallies.difference(before, after))
        tallies.drop_empty(conn, survey.id)
        run.comments += sum(1 for row in changed if row.comment)
        run.about_you += sum(1 for row in changed if row.age_band is not None or row.sex is not None)
    return ids[-1], len(rows)


def _picks_of(conn: Connection, response_ids: list[int]) -> dict[int, list[str]]:
    """Each response's picks, most important first (from response_picks, as a recount reads them)."""
    picks: dict[int, list[str]] = {response_id: [] for response_id in response_ids}
    rows = conn.execute(
        select(response_picks.c.response_id, response_picks.c.issue_code)
        .where(response_picks.c.response_id.in_(response_ids))
        .order_by(response_picks.c.response_id, response_picks.c.rank)
    )
    for response_id, code in rows:
        picks[response_id].append(code)
    return picks


@dataclass(frozen=True)
class ErasedResponse:
    """What was erased: the response's survey and how many picks and extra answers went with it."""

    reference: str
    survey_id: int
    picks: int
    answers: int


async def erase_response(engine: AsyncEngine, reference: str, *, actor_email: str) -> ErasedResponse:
    """Delete the response with this confirmation reference, its picks and answers, and its counts."""
    reference = reference.strip().upper()
    async with engine.execution_options(sqlite_immediate=True).begin() as conn:
        erased = await conn.run_sync(_erase, reference)
        await audit.record(
            conn,
            "response_erased",
            actor_email=actor_email,
            target_type="response",
            target_id=reference,
            detail={"survey_id": erased.survey_id, "picks": erased.picks, "answers": erased.answers},
        )
    return erased


def _erase(conn: Connection, reference: str) -> ErasedResponse:
    row = conn.execute(
        select(
            responses.c.id,
            responses.c.survey_id,
            responses.c.district_code,
            responses.c.age_band,
            responses.c.sex,
            responses.c.comment,
            surveys.c.max_picks,
        )
        .join(surveys, surveys.c.id == responses.c.survey_id)
        .where(responses.c.reference == reference)
    ).one_or_none()
    if row is None:
        raise ResponseNotFound(reference)
    picks = _picks_of(conn, [row.id])[row.id]
    answers = conn.execute(
        select(func.count()).select_from(response_answers).where(response_answers.c.response_id == row.id)
    ).scalar_one()
    counted = tallies.Counted(
        row.survey_id, row.district_code, row.age_band, row.sex, picks, row.comment, row.max_picks
    )
    # Picks and answers first: SQLite cascades only where foreign keys are on, and this must not depend on it.
    conn.execute(delete(response_picks).where(response_picks.c.response_id == row.id))
    conn.execute(delete(response_answers).where(response_answers.c.response_id == row.id))
    # A quote staff approved from this comment goes too, and the public results' caches must drop it.
    if conn.execute(delete(approved_quotes).where(approved_quotes.c.response_id == row.id)).rowcount:
        conn.execute(update(results_stamp).values(version=results_stamp.c.version + 1))
    conn.execute(delete(responses).where(responses.c.id == row.id))
    tallies.add_deltas(conn, tallies.difference([counted], []))
    tallies.drop_empty(conn, row.survey_id)
    return ErasedResponse(reference, row.survey_id, len(picks), answers)


# --- the daily run ------------------------------------------------------------------------------


async def claim_daily_run(engine: AsyncEngine) -> bool:
    """Whether this worker should run today's retention: True for exactly one caller a day."""
    now = datetime.now(UTC)
    async with engine.execution_options(sqlite_immediate=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held to the end of this transaction: a second worker waits here, then sees the claim.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        claimed = await conn.execute(
            select(func.count())
            .select_from(audit_events)
            .where(
                audit_events.c.action == "retention_started",
                audit_events.c.actor_email == SERVER,
                audit_events.c.at > now - DAY,
            )
        )
        if claimed.scalar_one():
            return False
        await audit.record(conn, "retention_started", actor_email=SERVER)
    return True


async def run_daily(engine: AsyncEngine, days: int) -> None:
    """The server's loop (one task per worker, for as long as it runs): check hourly, run when claimed."""
    await asyncio.sleep(random.uniform(*FIRST_CHECK_SECONDS))
    while True:
        try:
            if await claim_daily_run(engine):
                run = await apply_retention(engine, days, actor_email=SERVER)
                log.info("retention applied: %s", _summary(asdict(run)))
        except Exception as exc:  # a database out of reach today is tried again next hour
            if (outage := outage_of(exc)) is not None:
                note_outage(outage, "the daily retention run (trying again in an hour)", log)
            else:
                log.exception("the daily retention run failed; trying again in an hour")
        await asyncio.sleep(CHECK_EVERY_SECONDS)


def _summary(detail: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value}" for name, value in detail.items())
