"""Emails to panel members who asked to hear about results: when results are published, and each "we did" update.

Queued through the outbox in the same transaction as the publication or the update, so the email
goes if and only if what it announces was committed. The audience is every active member, not
bouncing, who ticked "Email me when results are published" (members.hear_about_results), in the
survey's districts (every district when the survey names none), or, for an update about one
district, in that district alone.

Not spamming: one results email per survey per stage. Interim results republished (a newer
snapshot the same day or later) send nothing more; the first final results send one more; results
withdrawn and published again at a stage already announced send nothing. Each update sends one.

Bulk like the invitations (invitations/services.py): one query for the audience, the links signed
in one pass (invitations/emails.member_links), and the messages written CHUNK at a time with one
executemany each (mail/outbox.queue_messages); no ORM objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import Row, func, select

from talking.db.models import members, published_results, results_updates, survey_districts, survey_issues, surveys
from talking.invitations.emails import MemberLinks, member_links
from talking.mail.outbox import OutgoingMessage, queue_messages
from talking.reference import districts_by_code
from talking.results.schemas import Stage
from talking.results.services import Db

RESULTS_KIND = "results_published"
UPDATE_KIND = "results_update"
# Messages written (and links signed) at a time: bounded memory for the whole panel.
CHUNK = 5000
SERVICE = "Lancashire Talking"


class MailKeys(msgspec.Struct, frozen=True):
    """What the links in the emails need: the site's address and the signing key."""

    base_url: str
    secret_key: str


class Recipient(msgspec.Struct, frozen=True, array_like=True):
    """A member to email, with the area their district page is for."""

    member_id: int
    email: str
    district_code: str


async def survey_district_codes(db: Db, survey_id: int) -> tuple[str, ...]:
    """The districts the survey covers (all 14 when it names none)."""
    rows = await db.execute(select(survey_districts.c.district_code).where(survey_districts.c.survey_id == survey_id))
    return tuple(sorted(code for (code,) in rows)) or tuple(districts_by_code())


async def recipients(db: Db, codes: Sequence[str]) -> list[tuple[int, str, str]]:
    """Active members, not bouncing, who asked to hear about results, in these districts, by id."""
    query = (
        select(members.c.id, members.c.email, members.c.district_code)
        .where(
            members.c.status == "active",
            members.c.bouncing_at.is_(None),
            members.c.email.is_not(None),
            members.c.hear_about_results.is_(True),
            members.c.district_code.in_(list(codes)),
        )
        .order_by(members.c.id)
    )
    return [(row.id, row.email, row.district_code) for row in await db.execute(query)]


async def _send(
    db: Db,
    found: list[tuple[int, str, str]],
    keys: MailKeys,
    write: Callable[[str, int, str, MemberLinks], OutgoingMessage],
) -> int:
    for start in range(0, len(found), CHUNK):
        chunk = found[start : start + CHUNK]
        links = member_links(keys.base_url, keys.secret_key, (member_id for member_id, _e, _d in chunk))
        await queue_messages(
            db, [write(email, member_id, district, links[member_id]) for member_id, email, district in chunk]
        )
    return len(found)


def _footer(links: MemberLinks) -> str:
    return (
        "You get these emails because you asked to hear when results are published. To stop them, or to "
        f"change your details, go to:\n{links.manage}\n\n"
        f"To stop getting any emails from us, go to:\n{links.unsubscribe}\n\n"
        f"{SERVICE}\n"
    )


async def _title(db: Db, survey_id: int) -> str:
    return (await db.execute(select(surveys.c.title).where(surveys.c.id == survey_id))).scalar_one()


async def first_of_stage(db: Db, survey_id: int, stage: Stage) -> bool:
    """Whether the publication just made is the survey's first at this stage (so it is announced)."""
    query = (
        select(func.count())
        .select_from(published_results)
        .where(published_results.c.survey_id == survey_id, published_results.c.stage == stage)
    )
    return (await db.execute(query)).scalar_one() == 1


async def announce_results(db: Db, survey_id: int, stage: Stage, keys: MailKeys) -> int:
    """Queue the "results are published" email to everyone who asked, once per survey per stage.

    Call in the publication's transaction, after it; returns how many emails were queued.
    """
    if not await first_of_stage(db, survey_id, stage):
        return 0
    title = await _title(db, survey_id)
    names = {code: district.name for code, district in districts_by_code().items()}
    page = f"{keys.base_url.rstrip('/')}/results/{survey_id}"
    which = "The final results" if stage == "final" else "Early (interim) results"
    note = (
        ""
        if stage == "final"
        else "The survey is still open, so these results may change. We will email you when the final results are "
        "published.\n\n"
    )

    def write(email: str, member_id: int, district: str, links: MemberLinks) -> OutgoingMessage:
        text = (
            "Hello,\n\n"
            f"{which} of {title} are published.\n\n"
            f"See what people across Lancashire said:\n{page}\n\n"
            f"See the results for {names.get(district, 'your area')}:\n{page}/{district}\n\n"
            f"{note}{_footer(links)}"
        )
        subject = f"{which} are published: {title}"[:200]
        return OutgoingMessage(
            to=email,
            subject=subject,
            text=text,
            kind=RESULTS_KIND,
            unsubscribe_url=links.unsubscribe,
            member_id=member_id,
        )

    return await _send(db, await recipients(db, await survey_district_codes(db, survey_id)), keys, write)


async def _update_news(db: Db, update_id: int) -> Row[Any]:
    u = results_updates.c
    query = (
        select(u.survey_id, u.district_code, u.action, u.partner, u.done_on, survey_issues.c.label)
        .join(
            survey_issues,
            (survey_issues.c.survey_id == u.survey_id) & (survey_issues.c.code == u.issue_code),
        )
        .where(u.id == update_id)
    )
    return (await db.execute(query)).one()


async def announce_update(db: Db, update_id: int, keys: MailKeys) -> int:
    """Queue the email about one "we did" update: a district's members for a district's update, every
    member in the survey's districts for a county one. Call in the update's transaction, after it."""
    news = await _update_news(db, update_id)
    codes = await survey_district_codes(db, news.survey_id)
    if news.district_code is not None:
        codes = tuple(code for code in codes if code == news.district_code) or (news.district_code,)
    title = await _title(db, news.survey_id)
    names = {code: district.name for code, district in districts_by_code().items()}
    where = "across Lancashire" if news.district_code is None else f"in {names.get(news.district_code, 'your area')}"
    page = f"{keys.base_url.rstrip('/')}/results/{news.survey_id}"
    done = f"{news.done_on.day} {news.done_on:%B %Y}"

    def write(email: str, member_id: int, district: str, links: MemberLinks) -> OutgoingMessage:
        text = (
            "Hello,\n\n"
            f"There is news about what people said in {title}.\n\n"
            f"You said: {news.label} matters {where}.\n"
            f"We did: {news.action}\n"
            f"({news.partner}, {done})\n\n"
            f"See this and every update beside the results for {names.get(district, 'your area')}:\n"
            f"{page}/{district}\n\n"
            f"{_footer(links)}"
        )
        subject = f"What was done about {news.label}: {title}"[:200]
        return OutgoingMessage(
            to=email,
            subject=subject,
            text=text,
            kind=UPDATE_KIND,
            unsubscribe_url=links.unsubscribe,
            member_id=member_id,
        )

    return await _send(db, await recipients(db, codes), keys, write)
