"""One-click unsubscribe (RFC 8058): the signed link in every email to a member, and leaving the panel."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking.db.models import members
from talking.signed_tokens import sign_id, sign_ids, unsign_id

UNSUBSCRIBE_PATH = "/members/unsubscribe/"
# The salt that keeps these tokens from being any other kind of signed link.
UNSUBSCRIBE_PURPOSE = "talking.members.unsubscribe"


def unsubscribe_url(base_url: str, secret_key: str, member_id: int) -> str:
    """The member's one-click unsubscribe URL (for List-Unsubscribe and the email's footer).

    It never expires: an unsubscribe link in an old email must still work.
    """
    return base_url.rstrip("/") + UNSUBSCRIBE_PATH + sign_id(secret_key, UNSUBSCRIBE_PURPOSE, member_id)


def unsubscribe_urls(base_url: str, secret_key: str, member_ids: Iterable[int]) -> dict[int, str]:
    """``unsubscribe_url`` for many members at once (a mailing to the panel), by member id."""
    start = base_url.rstrip("/") + UNSUBSCRIBE_PATH
    return {
        member_id: start + token for member_id, token in sign_ids(secret_key, UNSUBSCRIBE_PURPOSE, member_ids).items()
    }


def member_of_token(secret_key: str, token: str) -> int | None:
    """The member id an unsubscribe token names, or None if we did not sign it."""
    return unsign_id(secret_key, UNSUBSCRIBE_PURPOSE, token)


async def unsubscribe_member(conn: AsyncConnection | AsyncSession, member_id: int) -> None:
    """Take the member off the panel at once; leaving twice, or after being erased, changes nothing."""
    await conn.execute(
        update(members)
        .where(members.c.id == member_id, members.c.status.in_(("pending", "active")))
        .values(status="unsubscribed", updated_at=datetime.now(UTC))
    )
