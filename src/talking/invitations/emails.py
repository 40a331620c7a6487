"""The invitation and reminder emails: plain English, the survey's link, when it closes, and the member's links.

The HTML part is left to mail/messages.py (made from the text, links made clickable), so a mailing
of the whole panel stores only the text: a third of the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from talking.mail.outbox import OutgoingMessage
from talking.members.manage import manage_urls
from talking.members.unsubscribe import unsubscribe_urls
from talking.web.times import london_time

INVITATION_PATH = "/i/"


class MemberLinks(msgspec.Struct, frozen=True):
    """The links every email to a member carries besides the survey's."""

    unsubscribe: str
    manage: str


def member_links(base_url: str, secret_key: str, member_ids: Iterable[int]) -> dict[int, MemberLinks]:
    """Each member's one-click unsubscribe link and "manage your details" link, by member id."""
    member_ids = list(member_ids)
    manage = manage_urls(base_url, secret_key, member_ids)
    return {
        member_id: MemberLinks(unsubscribe=url, manage=manage[member_id])
        for member_id, url in unsubscribe_urls(base_url, secret_key, member_ids).items()
    }


def invitation_link(base_url: str, token: str) -> str:
    """The link in an invitation and its reminders: it starts the invited resident's journey."""
    return base_url.rstrip("/") + INVITATION_PATH + token


class SurveyMailing(msgspec.Struct, frozen=True):
    """What every email of one mailing says about the survey (worked out once per mailing)."""

    survey_title: str
    closing_sentence: str


def survey_mailing(title: str, closes_at: datetime | None) -> SurveyMailing:
    """A mailing about this survey: its title, and when it closes in words."""
    if closes_at is None:
        return SurveyMailing(title, "The survey is open now and stays open until staff close it.")
    return SurveyMailing(title, f"The survey closes at {london_time(closes_at)}.")


def _footer(links: MemberLinks) -> str:
    if links.manage == links.unsubscribe:
        return f"To change your details or stop getting these emails, go to:\n{links.unsubscribe}\n"
    return (
        f"To change your details, such as where you live, go to:\n{links.manage}\n\n"
        f"To stop getting these emails, go to:\n{links.unsubscribe}\n"
    )


_PRIVACY = (
    "The link is yours alone and lets you answer once. Your answers are kept apart from your email "
    "address: nobody can tell which answers are yours."
)


def invitation_email(
    mailing: SurveyMailing, *, to: str, member_id: int, link: str, links: MemberLinks
) -> OutgoingMessage:
    """The first email: an invitation to answer."""
    text = (
        "Hello,\n\n"
        f"Lancashire Talking would like to know what you think: {mailing.survey_title}.\n\n"
        "It takes about 5 minutes. Answer the survey:\n"
        f"{link}\n\n"
        f"{mailing.closing_sentence}\n\n"
        f"{_PRIVACY}\n\n"
        f"{_footer(links)}\n"
        "Lancashire Talking\n"
    )
    return OutgoingMessage(
        to=to,
        subject=f"Have your say: {mailing.survey_title}"[:200],
        text=text,
        kind="invitation",
        unsubscribe_url=links.unsubscribe,
        member_id=member_id,
    )


def reminder_email(
    mailing: SurveyMailing, *, to: str, member_id: int, link: str, links: MemberLinks
) -> OutgoingMessage:
    """A reminder to someone invited who has not answered yet: the same link."""
    text = (
        "Hello,\n\n"
        f"There is still time to answer {mailing.survey_title}.\n\n"
        "It takes about 5 minutes. Answer the survey:\n"
        f"{link}\n\n"
        f"{mailing.closing_sentence}\n\n"
        "If you have answered since we sent this, thank you: you do not need to do anything.\n\n"
        f"{_PRIVACY}\n\n"
        f"{_footer(links)}\n"
        "Lancashire Talking\n"
    )
    return OutgoingMessage(
        to=to,
        subject=f"Reminder: have your say: {mailing.survey_title}"[:200],
        text=text,
        kind="reminder",
        unsubscribe_url=links.unsubscribe,
        member_id=member_id,
    )
