"""Building and running questionnaires: the rules and the queries of the staff side."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking import audit
from talking.db.models import survey_districts, survey_issues, survey_questions, surveys
from talking.errors import FieldError, InvalidResponse, SurveyNotFound, WrongSurveyState
from talking.principal import Principal
from talking.questionnaires.schemas import (
    AGREEMENT_SCALE,
    CustomIssue,
    QuestionCreate,
    SurveyCreate,
    SurveyState,
)
from talking.questionnaires.wording import count_problems, wording_problems
from talking.reference import districts, districts_by_code, issues_by_code
from talking.surveys.schemas import QuestionOption, Survey
from talking.surveys.services import load_surveys
from talking.text import clean_text

Db = AsyncSession | AsyncConnection


def state_of(status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime) -> SurveyState:
    """What staff should see: draft, scheduled, open or closed."""
    if status == "draft":
        return "draft"
    if status == "closed" or (closes_at is not None and closes_at <= now):
        return "closed"
    if opens_at is not None and now < opens_at:
        return "scheduled"
    return "open"


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60] or "option"


def _options(question: QuestionCreate) -> tuple[QuestionOption, ...]:
    if question.kind == "agreement":
        return tuple(QuestionOption(code, label) for code, label in AGREEMENT_SCALE)
    if question.kind == "free_text":
        return ()
    return tuple(QuestionOption(_slug(clean_text(label)), clean_text(label)) for label in question.options)


def survey_problems(data: SurveyCreate) -> list[FieldError]:
    """Everything wrong with a questionnaire definition; empty when it can be saved."""
    if errors := count_problems(data):  # before looking at each of perhaps thousands of items
        return errors
    errors = wording_problems(data)
    taxonomy = issues_by_code()
    codes = [i.code if isinstance(i, CustomIssue) else i for i in data.issues]
    if len(codes) < 2:
        errors.append(FieldError("issues", "Offer at least 2 issues"))
    for position, item in enumerate(data.issues):
        if isinstance(item, str) and item not in taxonomy:
            errors.append(FieldError(f"issues[{position}]", f"Unknown issue code {item!r}"))
        if isinstance(item, CustomIssue) and item.code in taxonomy:
            errors.append(FieldError(f"issues[{position}]", f"{item.code!r} is a taxonomy code: pick it from the list"))
    if len(set(codes)) != len(codes):
        errors.append(FieldError("issues", "Each issue can be offered only once"))
    if data.max_picks > max(len(codes), 1):
        errors.append(FieldError("max_picks", "The number of picks cannot be more than the number of issues"))
    if data.districts is not None:
        if not data.districts:
            errors.append(FieldError("districts", "Select at least one district"))
        unknown = [d for d in data.districts if d not in districts_by_code()]
        if unknown:
            errors.append(FieldError("districts", f"Unknown district codes {unknown}"))
    if (data.opens_at and data.opens_at.tzinfo is None) or (data.closes_at and data.closes_at.tzinfo is None):
        errors.append(FieldError("opens_at", "Give times with a time zone, such as 2026-12-01T09:00:00Z"))
    elif data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        errors.append(FieldError("closes_at", "The closing time must be after the opening time"))
    keys = [q.key or f"q{n}" for n, q in enumerate(data.questions, start=1)]
    if len(set(keys)) != len(keys):
        errors.append(FieldError("questions", "Each question needs its own key"))
    for n, question in enumerate(data.questions):
        field = f"questions[{n}]"
        if question.kind in ("single_choice", "multiple_choice"):
            slugs = [_slug(clean_text(o)) for o in question.options]
            if len(slugs) < 2:
                errors.append(FieldError(field, "A choice question needs at least 2 options"))
            elif len(set(slugs)) != len(slugs):
                errors.append(FieldError(field, "Each option must be different"))
        elif question.options:
            errors.append(FieldError(field, f"A {question.kind.replace('_', ' ')} question takes no options"))
    return errors


async def _write_definition(db: Db, survey_id: int, data: SurveyCreate) -> None:
    """(Re)write a survey's issues, districts and questions."""
    taxonomy = issues_by_code()
    await db.execute(
        insert(survey_issues),
        [
            {
                "survey_id": survey_id,
                "position": position,
                "code": item.code if isinstance(item, CustomIssue) else item,
                "label": clean_text(item.label) if isinstance(item, CustomIssue) else taxonomy[item].label,
            }
            for position, item in enumerate(data.issues, start=1)
        ],
    )
    covered = data.districts if data.districts is not None else tuple(d.code for d in districts())
    await db.execute(
        insert(survey_districts), [{"survey_id": survey_id, "district_code": code} for code in sorted(set(covered))]
    )
    if data.questions:
        await db.execute(
            insert(survey_questions),
            [
                {
                    "survey_id": survey_id,
                    "key": question.key or f"q{position}",
                    "position": position,
                    "kind": question.kind,
                    "prompt": clean_text(question.prompt),
                    "hint": clean_text(question.hint, multiline=True),
                    "options": msgspec.json.encode(_options(question)).decode(),
                    "required": question.required,
                }
                for position, question in enumerate(data.questions, start=1)
            ],
        )


async def create_survey(
    db: Db,
    data: SurveyCreate,
    *,
    actor: Principal | None = None,
    ip: str | None = None,
    wave: int = 1,
    previous_wave_id: int | None = None,
) -> int:
    """Save a new draft questionnaire; InvalidResponse lists every problem."""
    if errors := survey_problems(data):
        raise InvalidResponse(errors)
    now = datetime.now(UTC)
    survey_id = (
        await db.execute(
            insert(surveys)
            .values(
                title=clean_text(data.title),
                introduction=clean_text(data.introduction, multiline=True),
                max_picks=data.max_picks,
                status="draft",
                opens_at=data.opens_at,
                closes_at=data.closes_at,
                created_at=now,
                updated_at=now,
                ask_about_you=data.ask_about_you,
                audience=data.audience,
                wave=wave,
                previous_wave_id=previous_wave_id,
                created_by_id=actor.user_id if actor else None,
            )
            .returning(surveys.c.id)
        )
    ).scalar_one()
    await _write_definition(db, survey_id, data)
    await audit.record(
        db,
        "survey_created",
        actor=actor,
        actor_email=None if actor else "command line",
        target_type="survey",
        target_id=survey_id,
        detail={"title": data.title},
        ip=ip,
    )
    return survey_id


async def exists(db: Db, survey_id: int) -> bool:
    """Whether there is a survey with this id."""
    return (await db.execute(select(surveys.c.id).where(surveys.c.id == survey_id))).first() is not None


async def _status(db: Db, survey_id: int) -> str:
    status = (await db.execute(select(surveys.c.status).where(surveys.c.id == survey_id))).scalar_one_or_none()
    if status is None:
        raise SurveyNotFound(survey_id)
    return status


async def update_draft(db: Db, survey_id: int, data: SurveyCreate, *, actor: Principal, ip: str | None = None) -> None:
    """Replace a draft's definition; published questions (and who may answer) are locked."""
    found = (await db.execute(select(surveys.c.status, surveys.c.audience).where(surveys.c.id == survey_id))).first()
    if found is None:
        raise SurveyNotFound(survey_id)
    if found.status != "draft" and found.audience != data.audience:
        raise WrongSurveyState(
            f"A published survey's audience is locked (it is {found.audience!r}): residents may already have "
            "the link or an invitation; start a new wave as a draft to change who can answer"
        )
    if found.status != "draft":
        raise WrongSurveyState("A published survey's questions are locked; start a new wave to change them")
    if errors := survey_problems(data):
        raise InvalidResponse(errors)
    await db.execute(
        update(surveys)
        .where(surveys.c.id == survey_id)
        .values(
            title=clean_text(data.title),
            introduction=clean_text(data.introduction, multiline=True),
            max_picks=data.max_picks,
            opens_at=data.opens_at,
            closes_at=data.closes_at,
            ask_about_you=data.ask_about_you,
            audience=data.audience,
            updated_at=datetime.now(UTC),
        )
    )
    for table in (survey_issues, survey_districts, survey_questions):
        await db.execute(delete(table).where(table.c.survey_id == survey_id))
    await _write_definition(db, survey_id, data)
    await audit.record(db, "survey_updated", actor=actor, target_type="survey", target_id=survey_id, ip=ip)


async def schedule(
    db: Db,
    survey_id: int,
    opens_at: datetime | None,
    closes_at: datetime | None,
    *,
    actor: Principal,
    ip: str | None = None,
) -> None:
    """Change when a survey opens and closes (the questions stay locked once published)."""
    status = await _status(db, survey_id)
    if status == "closed":
        raise WrongSurveyState("This survey is closed; start a new wave instead")
    if opens_at and closes_at and closes_at <= opens_at:
        raise InvalidResponse([FieldError("closes_at", "The closing time must be after the opening time")])
    await db.execute(
        update(surveys)
        .where(surveys.c.id == survey_id)
        .values(opens_at=opens_at, closes_at=closes_at, updated_at=datetime.now(UTC))
    )
    await audit.record(
        db,
        "survey_updated",
        actor=actor,
        target_type="survey",
        target_id=survey_id,
        ip=ip,
        detail={"opens_at": opens_at and opens_at.isoformat(), "closes_at": closes_at and closes_at.isoformat()},
    )


async def publish(db: Db, survey_id: int, *, actor: Principal | None = None, ip: str | None = None) -> None:
    """Publish a draft: it opens now, or at its opening time if that is later."""
    if await _status(db, survey_id) != "draft":
        raise WrongSurveyState("Only a draft can be published")
    survey = (await load_surveys(db, [survey_id]))[0]  # type: ignore[arg-type]
    now = datetime.now(UTC)
    if survey.closes_at is not None and survey.closes_at <= now:
        raise InvalidResponse([FieldError("closes_at", "The closing time has passed: change it before publishing")])
    await db.execute(
        update(surveys).where(surveys.c.id == survey_id).values(status="open", published_at=now, updated_at=now)
    )
    await audit.record(
        db,
        "survey_published",
        actor=actor,
        actor_email=None if actor else "command line",
        target_type="survey",
        target_id=survey_id,
        ip=ip,
    )


async def close(db: Db, survey_id: int, *, actor: Principal, ip: str | None = None) -> None:
    """Close a published survey now: no more responses are accepted."""
    if await _status(db, survey_id) != "open":
        raise WrongSurveyState("Only a published survey can be closed")
    now = datetime.now(UTC)
    await db.execute(
        update(surveys).where(surveys.c.id == survey_id).values(status="closed", closed_at=now, updated_at=now)
    )
    await audit.record(db, "survey_closed", actor=actor, target_type="survey", target_id=survey_id, ip=ip)


def definition_of(survey: Survey) -> SurveyCreate:
    """A survey's definition in the form create_survey takes (to copy it as the next wave)."""
    taxonomy = issues_by_code()
    return SurveyCreate(
        title=survey.title,
        introduction=survey.introduction,
        issues=tuple(i.code if i.code in taxonomy else CustomIssue(i.code, i.label) for i in survey.issues),
        max_picks=survey.max_picks,
        districts=survey.districts,
        questions=tuple(
            QuestionCreate(
                kind=q.kind,
                prompt=q.prompt,
                key=q.key,
                hint=q.hint,
                options=tuple(o.label for o in q.options) if q.kind != "agreement" else (),
                required=q.required,
            )
            for q in survey.questions
        ),
        ask_about_you=survey.ask_about_you,
        audience=survey.audience,
    )


async def new_wave(db: Db, survey_id: int, *, actor: Principal, ip: str | None = None) -> int:
    """Copy a survey as a draft of its next wave: same issue codes, so the waves compare."""
    found = await load_surveys(db, [survey_id])  # type: ignore[arg-type]
    if not found:
        raise SurveyNotFound(survey_id)
    previous = found[0]
    wave_id = await create_survey(
        db, definition_of(previous), actor=actor, ip=ip, wave=previous.wave + 1, previous_wave_id=previous.id
    )
    await audit.record(
        db,
        "survey_wave_created",
        actor=actor,
        target_type="survey",
        target_id=wave_id,
        ip=ip,
        detail={"previous_wave_id": previous.id, "wave": previous.wave + 1},
    )
    return wave_id
