"""Finding, reading and erasing members, for staff: every read of a member's details is audited.

The audit log names members by id, never by address: an erased member's email must not live on in
the log that records their erasure. Searches record which members they showed, not what was typed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from sqlalchemy import func, select, update

from talking import audit
from talking.db.models import invitations, members
from talking.mail.outbox import forget_member
from talking.members.services import Db
from talking.principal import Principal

# A search shows at most this many members; a narrower search finds the rest.
SEARCH_LIMIT = 50
STATUSES = ("active", "pending", "unsubscribed", "erased")


class MemberDetails(msgspec.Struct, frozen=True):
    """A member as staff see them (personal data: every read is audited)."""

    id: int
    email: str | None
    district_code: str | None
    age_band: str | None
    sex: str | None
    status: str
    consent_version: str | None
    consent_at: datetime | None
    joined_at: datetime
    confirmed_at: datetime | None
    hear_about_results: bool = False


class MemberNotFound(LookupError):
    """No member has this id (or this address)."""


_DETAILS = select(
    members.c.id,
    members.c.email,
    members.c.district_code,
    members.c.age_band,
    members.c.sex,
    members.c.status,
    members.c.consent_version,
    members.c.consent_at,
    members.c.joined_at,
    members.c.confirmed_at,
    members.c.hear_about_results,
)


async def counts(db: Db) -> dict[tuple[str | None, str], int]:
    """Members by (district code, status): no personal data, so no audit."""
    rows = await db.execute(
        select(members.c.district_code, members.c.status, func.count()).group_by(
            members.c.district_code, members.c.status
        )
    )
    return {(district, status): count for district, status, count in rows}


async def search(db: Db, text: str, *, actor: Principal | None, ip: str | None = None) -> list[MemberDetails]:
    """Members whose address contains ``text`` (any case), fewest first by address; audited by id."""
    needle = text.strip().lower()
    if not needle:
        return []
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await db.execute(
        _DETAILS.where(members.c.email_key.like(f"%{escaped}%", escape="\\"))
        .order_by(members.c.email_key)
        .limit(SEARCH_LIMIT)
    )
    found = [MemberDetails(*row) for row in rows]
    await audit.record(
        db, "members_searched", actor=actor, target_type="members", detail={"shown": [m.id for m in found]}, ip=ip
    )
    return found


async def read(db: Db, member_id: int, *, actor: Principal | None, ip: str | None = None) -> MemberDetails:
    """One member's details; the read is audited."""
    row = (await db.execute(_DETAILS.where(members.c.id == member_id))).first()
    if row is None:
        raise MemberNotFound(member_id)
    await audit.record(db, "member_viewed", actor=actor, target_type="member", target_id=member_id, ip=ip)
    return MemberDetails(*row)


async def erase(
    db: Db, member_id: int, *, actor: Principal | None, ip: str | None = None, actor_email: str | None = None
) -> None:
    """Remove a member's email and personal fields for good (and from their emails); the row keeps only its id,
    status and times, and their invitations no longer name them. The one erasure, for staff, the command
    and the member's own manage link (``actor_email`` says who asked when no staff member did)."""
    now = datetime.now(UTC)
    done = await db.execute(
        update(members)
        .where(members.c.id == member_id, members.c.status != "erased")
        .values(
            email=None,
            email_key=None,
            district_code=None,
            age_band=None,
            sex=None,
            hear_about_results=False,
            status="erased",
            updated_at=now,
        )
    )
    if done.rowcount == 0:
        if (await db.execute(select(members.c.id).where(members.c.id == member_id))).first() is None:
            raise MemberNotFound(member_id)
        return  # erased already: nothing left to remove, nothing new to record
    await forget_member(db, member_id)  # their emails too: queued ones cancelled, every copy of the address cleared
    # Invitations keep their district and day (for response rates) but no longer say whose they were.
    await db.execute(update(invitations).where(invitations.c.member_id == member_id).values(member_id=None))
    await audit.record(
        db, "member_erased", actor=actor, actor_email=actor_email, target_type="member", target_id=member_id, ip=ip
    )


async def erase_by_email(db: Db, email: str, *, actor: Principal | None = None) -> int:
    """Erase the member with this address (any case), for requests by post or phone; returns their id."""
    member_id = (
        await db.execute(select(members.c.id).where(members.c.email_key == email.strip().lower()))
    ).scalar_one_or_none()
    if member_id is None:
        raise MemberNotFound(email)
    await erase(db, member_id, actor=actor)
    return member_id
