"""A member's own link to their details: the signed manage link in every email, and what it lets them change.

The link is ``/members/you?token=...``: the member's id signed with TALKING_SECRET_KEY (a salt of its
own, so no other kind of link works here) and the time it was made. It lasts MANAGE_DAYS: an email
forwarded or left in an old inbox stops opening someone's details after that, and every new email
(each invitation, each reminder) carries a fresh one. The invitation's landing page links to
``/i/{token}/details``, which makes a fresh one from the invitation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select, update

from talking.db.models import invitations, members
from talking.invitation_tokens import looks_like_token, token_hash
from talking.members.services import Db
from talking.signed_tokens import TokenExpired, sign_timed, sign_timed_ids, unsign_timed_id

MANAGE_PATH = "/members/you"
MANAGE_PURPOSE = "talking.members.manage"
MANAGE_DAYS = 90
# Members who can still see and change their details; erased ones have none left.
HAS_DETAILS = ("pending", "active", "unsubscribed")


def manage_url(base_url: str, secret_key: str, member_id: int) -> str:
    """The member's link to see and change their details, unsubscribe or delete them (for every email)."""
    return f"{base_url.rstrip('/')}{MANAGE_PATH}?token={manage_token(secret_key, member_id)}"


def manage_urls(base_url: str, secret_key: str, member_ids: Iterable[int]) -> dict[int, str]:
    """``manage_url`` for many members at once (a mailing to the panel), by member id."""
    start = f"{base_url.rstrip('/')}{MANAGE_PATH}?token="
    return {
        member_id: start + token for member_id, token in sign_timed_ids(secret_key, MANAGE_PURPOSE, member_ids).items()
    }


def manage_token(secret_key: str, member_id: int) -> str:
    """The token of a member's manage link (URL-safe base64 and dots: no escaping needed)."""
    return sign_timed(secret_key, MANAGE_PURPOSE, member_id)


class LinkNotRecognised(LookupError):
    """A link token we did not make for this purpose, or cut short: the page says "not found"."""


class LinkExpired(LookupError):
    """A link we made, but one that no longer works (too old, or its member's details are gone)."""


def member_of_manage_token(secret_key: str, token: str | None) -> int:
    """The member a manage link names; LinkNotRecognised or LinkExpired if it does not (or no longer) work."""
    if not token:
        raise LinkNotRecognised()
    try:
        found = unsign_timed_id(secret_key, MANAGE_PURPOSE, token, MANAGE_DAYS * 86400)
    except TokenExpired as exc:
        raise LinkExpired("too old") from exc
    if found is None:
        raise LinkNotRecognised()
    return found.value


class YourDetails(msgspec.Struct, frozen=True):
    """What a member sees of themselves on the manage page."""

    id: int
    status: str
    district_code: str | None
    age_band: str | None
    sex: str | None
    hear_about_results: bool


async def your_details(db: Db, member_id: int) -> YourDetails:
    """The member's own details; LinkExpired when they were erased (or never were)."""
    row = (
        await db.execute(
            select(
                members.c.id,
                members.c.status,
                members.c.district_code,
                members.c.age_band,
                members.c.sex,
                members.c.hear_about_results,
            ).where(members.c.id == member_id, members.c.status.in_(HAS_DETAILS))
        )
    ).first()
    if row is None:
        raise LinkExpired("erased")
    return YourDetails(*row)


async def change_district(db: Db, member_id: int, district_code: str) -> None:
    """Move the member to another area (a checked ONS code); invitations already sent keep theirs."""
    await _change(db, member_id, district_code=district_code)


async def change_about_you(db: Db, member_id: int, age_band: str | None, sex: str | None) -> None:
    """Replace the member's optional about-you answers (None: not given)."""
    await _change(db, member_id, age_band=age_band, sex=sex)


async def change_results_emails(db: Db, member_id: int, hear_about_results: bool) -> None:
    """Start or stop the member's emails about published results."""
    await _change(db, member_id, hear_about_results=hear_about_results)


async def _change(db: Db, member_id: int, **values: object) -> None:
    done = await db.execute(
        update(members)
        .where(members.c.id == member_id, members.c.status.in_(HAS_DETAILS))
        .values(**values, updated_at=datetime.now(UTC))
    )
    if done.rowcount == 0:
        raise LinkExpired("erased")


async def member_of_invitation(db: Db, token: str) -> int | None:
    """The member an invitation link was sent to, if they are still on the panel (active or unsubscribed)."""
    if not looks_like_token(token):
        return None
    return (
        await db.execute(
            select(members.c.id)
            .join(invitations, invitations.c.member_id == members.c.id)
            .where(invitations.c.token_hash == token_hash(token), members.c.status.in_(("active", "unsubscribed")))
        )
    ).scalar_one_or_none()
