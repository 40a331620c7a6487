"""What staff add to published results: quotes they approve from comments, and "we did" updates.

A comment reaches the public only as a quote a member of staff approved: redacted first
(results.redaction), perhaps edited, checked again, and never from a district the report
suppresses. Updates say what a partner did about an issue, for the county or one district.
Each change bumps the results stamp in its own transaction, so every worker's cache refreshes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import Row, and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking import audit
from talking.db.models import approved_quotes, responses, results_updates, survey_issues
from talking.errors import FieldError, RulesBroken
from talking.principal import Principal
from talking.reference import districts_by_code
from talking.results.redaction import KIND_WORDS, removable_details
from talking.results.services import bump_stamp
from talking.text import clean_text, text_problem

Db = AsyncSession | AsyncConnection
QUOTE_MAX_CHARS = 2_000
ACTION_MAX_CHARS = 2_000
PARTNER_MAX_CHARS = 200
COUNTY = "county"


class QuoteRefused(RulesBroken):
    """An approval that cannot be stored as asked: a detail still to remove, a suppressed district..."""


class UpdateRefused(RulesBroken):
    """An update whose fields break the rules; nothing was stored."""


# --- quotes ------------------------------------------------------------------------------------------


async def comments_to_moderate(
    db: Db, survey_id: int, hidden_districts: set[str], *, limit: int, offset: int
) -> tuple[int, list[Row[Any]]]:
    """Comments not yet approved (id, district, comment), oldest first, from districts that may be quoted."""
    approved = select(approved_quotes.c.response_id).where(approved_quotes.c.survey_id == survey_id)
    conditions = [
        responses.c.survey_id == survey_id,
        responses.c.comment.is_not(None),
        responses.c.comment != "",
        responses.c.id.not_in(approved),
    ]
    if hidden_districts:
        conditions.append(responses.c.district_code.not_in(sorted(hidden_districts)))
    total = (await db.execute(select(func.count()).select_from(responses).where(and_(*conditions)))).scalar_one()
    rows = await db.execute(
        select(responses.c.id, responses.c.district_code, responses.c.comment)
        .where(and_(*conditions))
        .order_by(responses.c.id)
        .limit(limit)
        .offset(offset)
    )
    return total, list(rows)


async def approve_quote(
    db: Db,
    survey_id: int,
    response_id: int,
    quote: str,
    hidden_districts: set[str],
    *,
    actor: Principal | None,
    ip: str | None,
) -> int:
    """Store the quote as staff approved it; QuoteRefused (nothing stored) when it cannot be published."""
    field = f"quote-{response_id}"
    found = (
        await db.execute(
            select(responses.c.district_code, responses.c.comment).where(
                responses.c.id == response_id, responses.c.survey_id == survey_id
            )
        )
    ).one_or_none()
    if found is None or not found.comment:
        raise QuoteRefused([FieldError(field, "There is no comment to quote with this number in this survey")])
    if found.district_code in hidden_districts:
        raise QuoteRefused(
            [FieldError(field, "Comments from a district with too few answers to publish cannot be quoted")]
        )
    problem = text_problem(quote, label="The quote", max_chars=QUOTE_MAX_CHARS, multiline=True, required=True)
    if problem:
        raise QuoteRefused([FieldError(field, problem)])
    text = clean_text(quote, multiline=True)
    left = removable_details(text)
    if left:
        kinds = ", ".join(dict.fromkeys(f"{KIND_WORDS[f.kind]} ({f.text})" for f in left))
        raise QuoteRefused([FieldError(field, f"The quote still contains {kinds}: remove it before approving")])
    already = select(approved_quotes.c.id).where(
        approved_quotes.c.survey_id == survey_id, approved_quotes.c.response_id == response_id
    )
    if (await db.execute(already)).first() is not None:
        raise QuoteRefused([FieldError(field, "This comment is approved already")])
    try:
        quote_id = (
            await db.execute(
                insert(approved_quotes)
                .values(
                    survey_id=survey_id,
                    response_id=response_id,
                    district_code=found.district_code,
                    quote=text,
                    approved_at=datetime.now(UTC),
                    approved_by_id=actor.user_id if actor else None,
                )
                .returning(approved_quotes.c.id)
            )
        ).scalar_one()
    except IntegrityError as exc:  # approved by someone else in the same moment (PostgreSQL)
        raise QuoteRefused([FieldError(field, "This comment is approved already")]) from exc
    await bump_stamp(db)
    await audit.record(db, "quote_approved", actor=actor, target_type="survey", target_id=survey_id,
                       detail={"quote": quote_id}, ip=ip)  # fmt: skip
    return quote_id


async def remove_quote(db: Db, survey_id: int, quote_id: int, *, actor: Principal | None, ip: str | None) -> bool:
    """Take an approved quote off the results; False if there was none."""
    gone = await db.execute(
        delete(approved_quotes).where(approved_quotes.c.id == quote_id, approved_quotes.c.survey_id == survey_id)
    )
    if not gone.rowcount:
        return False
    await bump_stamp(db)
    await audit.record(db, "quote_removed", actor=actor, target_type="survey", target_id=survey_id,
                       detail={"quote": quote_id}, ip=ip)  # fmt: skip
    return True


class Quote(msgspec.Struct, frozen=True):
    """An approved quote and the district it came from."""

    id: int
    district_code: str
    text: str


async def quotes_of(db: Db, survey_id: int) -> list[Quote]:
    """Every approved quote of the survey, in the order they were approved."""
    rows = await db.execute(
        select(approved_quotes.c.id, approved_quotes.c.district_code, approved_quotes.c.quote)
        .where(approved_quotes.c.survey_id == survey_id)
        .order_by(approved_quotes.c.id)
    )
    return [Quote(row.id, row.district_code, row.quote) for row in rows]


# --- "we did" updates ------------------------------------------------------------------------------


class UpdateForm(msgspec.Struct, frozen=True):
    """An update as typed on the page (every field text, as forms give them)."""

    area: str = ""  # "county" or a district code
    issue: str = ""
    action: str = ""
    partner: str = ""
    done_day: str = ""
    done_month: str = ""
    done_year: str = ""


class Update(msgspec.Struct, frozen=True):
    """What a partner did about an issue, where, and when."""

    id: int
    district_code: str | None
    issue_code: str
    action: str
    partner: str
    done_on: date
    created_at: datetime


async def issue_labels(db: Db, survey_id: int) -> dict[str, str]:
    """The survey's issues, code -> label, in the order residents saw them."""
    rows = await db.execute(
        select(survey_issues.c.code, survey_issues.c.label)
        .where(survey_issues.c.survey_id == survey_id)
        .order_by(survey_issues.c.position)
    )
    return {row.code: row.label for row in rows}


def check_update(form: UpdateForm, issues: dict[str, str], today: date) -> tuple[list[FieldError], date | None]:
    """What is wrong with the update, field by field (ids as on the page), and its date when it reads."""
    errors: list[FieldError] = []
    if form.area != COUNTY and form.area not in districts_by_code():
        errors.append(FieldError("area", "Select the county or a district"))
    if form.issue not in issues:
        errors.append(FieldError("issue", "Select the issue the update is about"))
    for name, label, limit in (
        ("action", "What was done", ACTION_MAX_CHARS),
        ("partner", "The partner", PARTNER_MAX_CHARS),
    ):
        problem = text_problem(
            getattr(form, name), label=label, max_chars=limit, multiline=name == "action", required=True
        )
        if problem:
            errors.append(FieldError(name, problem))
    done_on = None
    try:
        done_on = date(int(form.done_year), int(form.done_month), int(form.done_day))
    except ValueError:
        errors.append(FieldError("done-day", "Enter the date it was done as a real date, for example 27 3 2027"))
    if done_on is not None and not (date(2000, 1, 1) <= done_on <= today):
        errors.append(FieldError("done-day", "The date it was done must be today or in the past"))
        done_on = None
    return errors, done_on


async def add_update(db: Db, survey_id: int, form: UpdateForm, *, actor: Principal | None, ip: str | None) -> int:
    """Store the update; UpdateRefused (nothing stored) with every field at fault."""
    issues = await issue_labels(db, survey_id)
    errors, done_on = check_update(form, issues, datetime.now(UTC).date())
    if errors or done_on is None:
        raise UpdateRefused(errors)
    update_id = (
        await db.execute(
            insert(results_updates)
            .values(
                survey_id=survey_id,
                district_code=None if form.area == COUNTY else form.area,
                issue_code=form.issue,
                action=clean_text(form.action, multiline=True),
                partner=clean_text(form.partner),
                done_on=done_on,
                created_at=datetime.now(UTC),
                created_by_id=actor.user_id if actor else None,
            )
            .returning(results_updates.c.id)
        )
    ).scalar_one()
    await bump_stamp(db)
    await audit.record(db, "results_update_added", actor=actor, target_type="survey", target_id=survey_id,
                       detail={"update": update_id}, ip=ip)  # fmt: skip
    return update_id


async def remove_update(db: Db, survey_id: int, update_id: int, *, actor: Principal | None, ip: str | None) -> bool:
    """Take an update off the results; False if there was none."""
    gone = await db.execute(
        delete(results_updates).where(results_updates.c.id == update_id, results_updates.c.survey_id == survey_id)
    )
    if not gone.rowcount:
        return False
    await bump_stamp(db)
    await audit.record(db, "results_update_removed", actor=actor, target_type="survey", target_id=survey_id,
                       detail={"update": update_id}, ip=ip)  # fmt: skip
    return True


async def updates_of(db: Db, survey_id: int) -> list[Update]:
    """Every update of the survey, latest done first."""
    u = results_updates.c
    rows = await db.execute(
        select(u.id, u.district_code, u.issue_code, u.action, u.partner, u.done_on, u.created_at)
        .where(u.survey_id == survey_id)
        .order_by(u.done_on.desc(), u.id.desc())
    )
    return [Update(*row) for row in rows]
