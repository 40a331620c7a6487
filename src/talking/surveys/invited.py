"""A members survey's invitations as the residents' side meets them: the link's token, its member, its rules.

The token (talking.invitation_tokens) is checked for shape before any look-up, then found by its
SHA-256, the only form the invitations table keeps. The member it belongs to gives the district
(and age band and sex, if known), which is why an invited resident is not asked them and why a
partner system need not send a district with ``"invitation"``.

Whether the invitation is still unused is only a courtesy here (a page that says so at once); the
writer claims the invitation in the transaction that stores the answer (batches.py), and that claim
is what holds one answer per invitation.
"""

from __future__ import annotations

from datetime import date

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import invitations, members
from talking.errors import FieldError, InvalidResponse, InvitationRefused, InvitationUsed
from talking.invitation_tokens import looks_like_token, token_hash
from talking.reference import districts_by_code
from talking.surveys.schemas import ResponseCreate, Survey

# The member statuses whose invitations may still be answered: an unsubscribed member asked for no
# more email, not to take back an invitation already sent.
ANSWERING_STATUSES = frozenset({"active", "unsubscribed"})


class Invited(msgspec.Struct, frozen=True):
    """An invitation found by its token, with what its member's details say now."""

    survey_id: int
    token_hash: bytes
    used_on: date | None
    # "erased" also when the member row is gone (erasure sets the invitation's member to NULL).
    member_status: str
    district: str | None = None
    age_band: str | None = None
    sex: str | None = None

    @property
    def may_answer(self) -> bool:
        """Whether the member's details still allow an answer (erased ones do not)."""
        return self.member_status in ANSWERING_STATUSES and self.district is not None

    def known_pages(self, survey: Survey) -> list[str]:
        """The journey pages the membership answers: the district, and about you when both are known."""
        known = ["district"]
        if survey.ask_about_you and self.age_band is not None and self.sex is not None:
            known.append("about-you")
        return known


_BY_HASH = (
    select(
        invitations.c.survey_id,
        invitations.c.token_hash,
        invitations.c.used_on,
        members.c.status,
        members.c.district_code,
        members.c.age_band,
        members.c.sex,
    )
    .select_from(invitations.outerjoin(members, members.c.id == invitations.c.member_id))
    .where(invitations.c.token_hash == bindparam("token_hash"))
)


async def find_invitation(engine: AsyncEngine, token: str) -> Invited | None:
    """The invitation this token names, or None (not a token's shape, forged, truncated, unknown)."""
    if not looks_like_token(token):
        return None
    hashed = token_hash(token)
    async with engine.connect() as conn:
        row = (await conn.execute(_BY_HASH, {"token_hash": hashed})).first()
    if row is None:
        return None
    return Invited(
        survey_id=row.survey_id,
        token_hash=row.token_hash,
        used_on=row.used_on,
        member_status=row.status or "erased",
        district=row.district_code,
        age_band=row.age_band,
        sex=row.sex,
    )


async def admit_invitation(
    engine: AsyncEngine, survey: Survey, response: ResponseCreate, *, retry_allowed: bool
) -> tuple[ResponseCreate, bytes]:
    """The API's answer with its member's details filled in, and the invitation's hash; or why not.

    Every invitation that cannot answer this survey gets the same 403 (unknown, forged, another
    survey's, or its member erased); one already answered gets 409 at once, unless the request
    carries an Idempotency-Key (a retry of the answer that used it gets its first result back
    from the writer). A district that differs from the membership's is a 422.
    """
    assert response.invitation is not None
    invited = await find_invitation(engine, response.invitation)
    if invited is None or invited.survey_id != survey.id or not invited.may_answer:
        raise InvitationRefused(
            survey.id, "This invitation cannot answer this survey: send the token from the member's own link to it."
        )
    if invited.used_on is not None and not retry_allowed:
        raise InvitationUsed()
    return with_membership(survey, response, invited), invited.token_hash


def with_membership(survey: Survey, response: ResponseCreate, invited: Invited) -> ResponseCreate:
    """The answer with the member's district, and their age band and sex where the answer leaves them out."""
    district = invited.district
    assert district is not None
    if response.district is not None and response.district != district:
        name = districts_by_code()[district].name if district in districts_by_code() else district
        raise InvalidResponse(
            [
                FieldError(
                    "district",
                    f"The invited member lives in {name} ({district}): leave district out, or send {district}. "
                    "A member who has moved updates their details first.",
                )
            ]
        )
    if not survey.ask_about_you:
        return msgspec.structs.replace(response, district=district)
    return msgspec.structs.replace(
        response,
        district=district,
        age_band=response.age_band if response.age_band is not None else invited.age_band,
        sex=response.sex if response.sex is not None else invited.sex,
    )
