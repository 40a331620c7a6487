"""Joining the resident panel on the web: the member stored pending, the confirmation email, the link that confirms.

One address is one member (``members.email_key``, unique), so a join is an
``INSERT ... ON CONFLICT DO NOTHING``: two joins with the same address at once (in any case) make
one member and neither fails. Whether the address was new or not, the resident sees the same page;
only the email sent to that address differs (emails.py), so nobody learns from the page who is on
the panel. The email is queued in the same transaction as the member (the outbox).

The confirmation link carries the member's id and the answers they sent, signed with the secret key
and timed: it works for CONFIRM_DAYS, and once (a member confirmed after the link was made has used
it). Confirming a re-join (an unsubscribed member joining again) applies the answers then, so nobody
can change a member's details by typing their address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import msgspec
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from talking.db.models import members
from talking.mail.outbox import queue_message
from talking.members import emails
from talking.members.services import Db
from talking.reference import AGE_BAND_CODES, SEX_CODES, districts_by_code
from talking.signed_tokens import TokenExpired, sign_timed, unsign_timed
from talking.text import text_problem

# The privacy notice's version (templates/about/privacy.html shows it): recorded with each consent.
PRIVACY_NOTICE_VERSION = "2026-12-06"
CONFIRM_PATH = "/join/confirm/"
CONFIRM_PURPOSE = "talking.members.join.confirm"
CONFIRM_DAYS = 7
MAX_EMAIL_CHARS = 254


class JoinAnswers(msgspec.Struct, frozen=True):
    """What a resident sent on the join pages, checked."""

    email: str
    district_code: str
    age_band: str | None = None
    sex: str | None = None
    consent_version: str = PRIVACY_NOTICE_VERSION
    # "Email me when results are published" (asked on the consent page; optional).
    hear_about_results: bool = False


def checked_email(text: str) -> tuple[str | None, str | None]:
    """(the address as we keep it, None) or (None, what is wrong with it, in words a resident can act on)."""
    if problem := text_problem(text, label="Your email address", max_chars=MAX_EMAIL_CHARS, required=True):
        return None, problem
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized, None
    except EmailNotValidError:
        return None, "Enter an email address in the correct format, like name@example.org"


def about_you_problems(age_band: str | None, sex: str | None) -> dict[str, str]:
    """Answers that are not one of the choices (a form can be sent with anything)."""
    problems = {}
    if age_band is not None and age_band not in AGE_BAND_CODES:
        problems["age_band"] = "Select your age group from the list, or leave it blank"
    if sex is not None and sex not in SEX_CODES:
        problems["sex"] = "Select your sex from the list, or leave it blank"
    return problems


# The one value the "Email me when results are published" checkbox sends when ticked.
RESULTS_EMAILS_YES = "yes"
RESULTS_EMAILS_PROBLEM = "Select whether you want an email when results are published, or leave it blank"


def results_emails_answer(sent: str) -> bool | None:
    """The results-emails checkbox as sent: ticked, not ticked, or None for anything a checkbox cannot send."""
    if sent == RESULTS_EMAILS_YES:
        return True
    return False if sent == "" else None


class Link(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True):
    """What the confirmation link carries: the member and the answers to apply (short keys: a shorter URL)."""

    member_id: int
    district_code: str
    consent_version: str
    age_band: str | None = None
    sex: str | None = None
    # Last, so links made before the preference existed still read (as "not asked").
    hear_about_results: bool = False


def confirm_url(base_url: str, secret_key: str, member_id: int, answers: JoinAnswers) -> str:
    """The link in the email that confirms this join."""
    link = Link(
        member_id,
        answers.district_code,
        answers.consent_version,
        answers.age_band,
        answers.sex,
        answers.hear_about_results,
    )
    token = sign_timed(secret_key, CONFIRM_PURPOSE, msgspec.to_builtins(link))
    return f"{base_url.rstrip('/')}{CONFIRM_PATH}{token}"


class LinkState(Enum):
    """What a confirmation link is now."""

    READY = "ready"  # the member may confirm
    NOT_OURS = "not ours"  # forged, cut short, or for a member whose details are gone: 404
    EXPIRED = "expired"  # older than CONFIRM_DAYS: 410
    USED = "used"  # the member has confirmed since the link was made: 410


class Confirmation(msgspec.Struct, frozen=True):
    """A confirmation link read: its state, and (when ours) what it carries and when it was made."""

    state: LinkState
    link: Link | None = None
    issued_at: datetime | None = None
    # The member had unsubscribed: confirming brings them back.
    rejoining: bool = False


def read_link(secret_key: str, token: str) -> Confirmation:
    """What a confirmation token says, without the database (state READY, NOT_OURS or EXPIRED)."""
    try:
        found = unsign_timed(secret_key, CONFIRM_PURPOSE, token, CONFIRM_DAYS * 86400)
    except TokenExpired:
        return Confirmation(LinkState.EXPIRED)
    if found is None:
        return Confirmation(LinkState.NOT_OURS)
    try:
        link = msgspec.convert(found.value, Link)
    except msgspec.ValidationError:
        return Confirmation(LinkState.NOT_OURS)
    return Confirmation(LinkState.READY, link, found.issued_at)


async def link_state(db: Db, secret_key: str, token: str) -> Confirmation:
    """What a confirmation link is now, the member's row read (nothing changes)."""
    read = read_link(secret_key, token)
    if read.link is None or read.issued_at is None:
        return read
    row = (
        await db.execute(select(members.c.status, members.c.confirmed_at).where(members.c.id == read.link.member_id))
    ).first()
    if row is None or row.status == "erased":
        return Confirmation(LinkState.NOT_OURS)
    # itsdangerous keeps whole seconds: a confirmation in the second the link was made counts as after it.
    if row.confirmed_at is not None and row.confirmed_at >= read.issued_at:
        return Confirmation(LinkState.USED, read.link, read.issued_at)
    if row.status == "active":  # confirmed before this link, and still on the panel: nothing left to do
        return Confirmation(LinkState.USED, read.link, read.issued_at)
    return Confirmation(LinkState.READY, read.link, read.issued_at, rejoining=row.status == "unsubscribed")


async def confirm(db: Db, secret_key: str, token: str) -> Confirmation:
    """Make the member active with the answers the link carries; the state says why not, if not."""
    found = await link_state(db, secret_key, token)
    if found.state is not LinkState.READY or found.link is None or found.issued_at is None:
        return found
    link, now = found.link, datetime.now(UTC)
    done = await db.execute(
        update(members)
        .where(
            members.c.id == link.member_id,
            members.c.status.in_(("pending", "unsubscribed")),
            # Two presses at once: only the first finds the member still unconfirmed since the link.
            (members.c.confirmed_at.is_(None)) | (members.c.confirmed_at < found.issued_at),
        )
        .values(
            status="active",
            district_code=link.district_code,
            age_band=link.age_band,
            sex=link.sex,
            hear_about_results=link.hear_about_results,
            consent_version=link.consent_version,
            consent_at=found.issued_at,
            confirmed_at=now,
            updated_at=now,
        )
    )
    if done.rowcount == 0:
        return Confirmation(LinkState.USED, link, found.issued_at)
    return found


async def join(db: Db, answers: JoinAnswers, *, base_url: str, secret_key: str) -> None:
    """Add the resident as a pending member and queue the email that fits the address, in the caller's
    transaction: a confirmation link if new; otherwise what the address's member needs (emails.py)."""
    if answers.district_code not in districts_by_code():
        raise ValueError(f"unknown district {answers.district_code!r}")
    now = datetime.now(UTC)
    key = answers.email.lower()
    insert = postgres_insert if _dialect(db) == "postgresql" else sqlite_insert
    new_id = (
        await db.execute(
            insert(members)
            .values(
                email=answers.email,
                email_key=key,
                district_code=answers.district_code,
                age_band=answers.age_band,
                sex=answers.sex,
                hear_about_results=answers.hear_about_results,
                status="pending",
                consent_version=answers.consent_version,
                consent_at=now,
                joined_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[members.c.email_key])
            .returning(members.c.id)
        )
    ).scalar_one_or_none()
    if new_id is not None:
        url = confirm_url(base_url, secret_key, new_id, answers)
        await queue_message(db, emails.confirm_joining(answers.email, new_id, url, base_url, secret_key))
        return
    member_id, status, email = (
        await db.execute(select(members.c.id, members.c.status, members.c.email).where(members.c.email_key == key))
    ).one()
    if status == "active":
        message = emails.already_a_member(email, member_id, base_url, secret_key)
    else:  # pending (a fresh link) or unsubscribed (a link to come back)
        url = confirm_url(base_url, secret_key, member_id, answers)
        message = (
            emails.confirm_rejoining(email, member_id, url, base_url, secret_key)
            if status == "unsubscribed"
            else emails.confirm_joining(email, member_id, url, base_url, secret_key)
        )
    await queue_message(db, message)


def _dialect(db: Db) -> str:
    return (db.bind if isinstance(db, AsyncSession) else db).dialect.name
