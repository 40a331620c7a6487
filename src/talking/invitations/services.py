"""Inviting panel members to a members survey, and reminding those who have not answered.

Both run in the caller's transaction, with each email queued in the outbox in that same
transaction: the invitations and their emails commit together or not at all. The survey's row is
locked first (``FOR UPDATE`` on PostgreSQL; SQLite's request transactions already hold the write
lock from BEGIN), so two sends at once for one survey take turns and the second finds the first's
invitations: nobody is invited or reminded twice. The unique (survey, member) constraint backs that
up: were the lock ever bypassed, the second round would fail whole (409) rather than mail anyone twice.

Speed: the whole panel (80,000) in a few seconds, so rows are built in Python and written with
one multi-row statement per chunk (SQLAlchemy Core, never an ORM object per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking import audit
from talking.db.models import invitations, members, surveys
from talking.errors import FieldError, InvalidResponse, SurveyNotFound, WrongSurveyState
from talking.invitation_tokens import invitation_token, token_hash
from talking.invitations.emails import invitation_email, invitation_link, member_links, reminder_email, survey_mailing
from talking.mail.outbox import queue_messages
from talking.principal import Principal
from talking.reference import districts_by_code
from talking.surveys.schemas import Survey
from talking.surveys.services import load_surveys

Db = AsyncSession | AsyncConnection

# At most this many reminders per invitation (the table's CHECK says the same).
MAX_REMINDERS = 2
# A reminder goes only to invitees whose invitation (or last reminder) is at least this old, so a
# second press the same day, or the day after inviting, reminds nobody.
REMINDER_GAP = timedelta(days=3)
# Members per statement: a chunk's invitations and emails are one multi-row INSERT each.
CHUNK = 2_000


def _now() -> datetime:
    return datetime.now(UTC)


async def _locked_survey(db: Db, survey_id: int) -> Survey:
    """The survey, its row locked until the caller's transaction ends (so sends take turns)."""
    locked = await db.execute(select(surveys.c.id).where(surveys.c.id == survey_id).with_for_update())
    if locked.first() is None:
        raise SurveyNotFound(survey_id)
    return (await load_surveys(db, [survey_id]))[0]  # type: ignore[arg-type]


def check_can_mail(survey: Survey, now: datetime, what: str = "invitations") -> None:
    """Refuse (WrongSurveyState, a 409) a survey that cannot take invitations or reminders now."""
    if survey.audience != "members":
        raise WrongSurveyState(
            f"This survey is for anyone with the link, so it takes no {what}: "
            "only a survey for invited panel members does (its audience is chosen before publishing)"
        )
    if survey.status == "draft":
        raise WrongSurveyState(f"Publish this survey before sending {what}")
    if survey.status == "closed" or (survey.closes_at is not None and survey.closes_at <= now):
        raise WrongSurveyState(f"This survey is closed, so it takes no more {what}")
    if survey.opens_at is not None and now < survey.opens_at:
        raise WrongSurveyState(f"This survey has not opened yet: send {what} once it is open")


def chosen_districts(survey: Survey, asked: Sequence[str] | None) -> tuple[str, ...]:
    """The districts to invite: the survey's, or those asked for (each known and covered by the survey)."""
    covered = survey.districts or tuple(districts_by_code())
    if asked is None:
        return tuple(covered)
    if not asked:
        raise InvalidResponse([FieldError("districts", "Choose at least one district, or leave districts out")])
    names = districts_by_code()
    unknown = sorted({code for code in asked if code not in names})
    if unknown:
        raise InvalidResponse([FieldError("districts", f"Unknown district codes: {', '.join(unknown)}")])
    outside = sorted({names[code].name for code in asked if code not in covered})
    if outside:
        raise InvalidResponse([FieldError("districts", f"This survey does not cover {', '.join(outside)}")])
    return tuple(sorted(set(asked)))


def _invitable(survey_id: int, codes: Sequence[str]) -> Select[tuple[int, str, str]]:
    """Active members, not bouncing, in these districts, with no invitation to this survey yet."""
    return (
        select(members.c.id, members.c.email, members.c.district_code)
        .where(
            members.c.status == "active",
            members.c.bouncing_at.is_(None),
            members.c.email.is_not(None),
            members.c.district_code.in_(list(codes)),
            ~exists().where(invitations.c.survey_id == survey_id, invitations.c.member_id == members.c.id),
        )
        .order_by(members.c.id)
    )


async def invitable_count(db: Db, survey: Survey, asked: Sequence[str] | None = None) -> int:
    """How many members an invitation round would invite now (for the confirmation page)."""
    query = _invitable(survey.id, chosen_districts(survey, asked)).order_by(None).subquery()
    return int((await db.execute(select(func.count()).select_from(query))).scalar_one())


async def send_invitations(
    db: Db,
    survey_id: int,
    *,
    base_url: str,
    secret_key: str,
    districts: Sequence[str] | None = None,
    actor: Principal | None = None,
    ip: str | None = None,
) -> int:
    """Invite every member the survey can invite now and has not; returns how many were invited."""
    survey = await _locked_survey(db, survey_id)
    now = _now()
    check_can_mail(survey, now)
    codes = chosen_districts(survey, districts)
    found = (await db.execute(_invitable(survey_id, codes))).all()
    mailing = survey_mailing(survey.title, survey.closes_at)
    invited = 0
    for start in range(0, len(found), CHUNK):
        chunk = found[start : start + CHUNK]
        tokens = {member_id: invitation_token(secret_key, survey_id, member_id) for member_id, _e, _d in chunk}
        rows = [
            {"member_id": member_id, "district_code": district, "token_hash": token_hash(tokens[member_id])}
            for member_id, _email, district in chunk
        ]
        try:
            # What is the same for every row is in the statement, not converted again for each row.
            fixed = {"survey_id": survey_id, "invited_at": func.now(), "reminders_sent": 0}
            await db.execute(insert(invitations).values(**fixed), rows)
        except IntegrityError as exc:  # only if the lock above was bypassed: nothing of this round stays
            raise WrongSurveyState(
                "Another round of invitations for this survey was sent at the same moment: nothing was sent "
                "by this one. Send again to invite anyone that round missed"
            ) from exc
        links = member_links(base_url, secret_key, tokens)
        await queue_messages(
            db,
            [
                invitation_email(
                    mailing,
                    to=email,
                    member_id=member_id,
                    link=invitation_link(base_url, tokens[member_id]),
                    links=links[member_id],
                )
                for member_id, email, _district in chunk
            ],
        )
        invited += len(chunk)
    await audit.record(
        db,
        "invitations_sent",
        actor=actor,
        actor_email=None if actor else "command line",
        target_type="survey",
        target_id=survey_id,
        detail={"invited": invited, "districts": list(codes) if districts is not None else "all"},
        ip=ip,
    )
    return invited


def _remindable(survey_id: int, now: datetime) -> Select[tuple[int, int, str]]:
    """Invitations not answered, with reminders left, to active members who are not bouncing, not lately mailed."""
    cutoff = now - REMINDER_GAP
    return (
        select(invitations.c.id, invitations.c.member_id, members.c.email)
        .join(members, members.c.id == invitations.c.member_id)
        .where(
            invitations.c.survey_id == survey_id,
            invitations.c.used_on.is_(None),
            invitations.c.reminders_sent < MAX_REMINDERS,
            or_(
                and_(invitations.c.last_reminded_at.is_(None), invitations.c.invited_at <= cutoff),
                invitations.c.last_reminded_at <= cutoff,
            ),
            members.c.status == "active",
            members.c.bouncing_at.is_(None),
            members.c.email.is_not(None),
        )
        .order_by(invitations.c.id)
    )


async def remindable_count(db: Db, survey_id: int, now: datetime | None = None) -> int:
    """How many invitees a reminder round would reach now (for the confirmation page)."""
    query = _remindable(survey_id, now or _now()).order_by(None).subquery()
    return int((await db.execute(select(func.count()).select_from(query))).scalar_one())


async def send_reminders(
    db: Db,
    survey_id: int,
    *,
    base_url: str,
    secret_key: str,
    actor: Principal | None = None,
    ip: str | None = None,
) -> int:
    """One reminder to each invitee who may have one now (see _remindable); returns how many."""
    survey = await _locked_survey(db, survey_id)
    now = _now()
    check_can_mail(survey, now, "reminders")
    found = (await db.execute(_remindable(survey_id, now))).all()
    mailing = survey_mailing(survey.title, survey.closes_at)
    for start in range(0, len(found), CHUNK):
        chunk = found[start : start + CHUNK]
        links = member_links(base_url, secret_key, [member_id for _i, member_id, _e in chunk])
        await db.execute(
            update(invitations)
            .where(invitations.c.id.in_([invitation_id for invitation_id, _m, _e in chunk]))
            .values(reminders_sent=invitations.c.reminders_sent + 1, last_reminded_at=now)
        )
        await queue_messages(
            db,
            [
                reminder_email(
                    mailing,
                    to=email,
                    member_id=member_id,
                    link=invitation_link(base_url, invitation_token(secret_key, survey_id, member_id)),
                    links=links[member_id],
                )
                for _invitation_id, member_id, email in chunk
            ],
        )
    await audit.record(
        db,
        "reminders_sent",
        actor=actor,
        actor_email=None if actor else "command line",
        target_type="survey",
        target_id=survey_id,
        detail={"reminded": len(found)},
        ip=ip,
    )
    return len(found)
