"""Staff pages for the panel's members: counts by district and status, search, a member, erasure.

Staff and admins only: analysts never see members' personal data. Every page that shows a
member's details writes the read to the audit log (directory.py), and so does every search.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.members import directory
from talking.params import RowId
from talking.reference import AGE_BANDS, SEXES, districts, districts_by_code
from talking.web.guards import requires
from talking.web.navigation import flash, see_other, take_flash
from talking.web.people import client_ip, principal_of
from talking.web.times import staff_time

Req = Request[Any, Any, Any]
MEMBERS_URL = "/staff/members"
MAX_QUERY_CHARS = 254


class DistrictRow(msgspec.Struct, frozen=True):
    """One district's members by status, and the bar the chart draws for its active members."""

    name: str
    by_status: dict[str, int]
    total: int
    bar_percent: float


def district_rows(counted: dict[tuple[str | None, str], int]) -> list[DistrictRow]:
    """The 14 districts (and erased members, who have none) with their counts, for the table and chart."""
    names = [(district.code, district.name) for district in districts()] + [(None, "No district (erased)")]
    most_active = max((n for (_code, status), n in counted.items() if status == "active"), default=0) or 1
    rows = []
    for code, name in names:
        by_status = {status: counted.get((code, status), 0) for status in directory.STATUSES}
        if code is None and not any(by_status.values()):
            continue
        rows.append(DistrictRow(name, by_status, sum(by_status.values()), 100 * by_status["active"] / most_active))
    return rows


def _label(choices: Any, code: str | None) -> str:
    return next((choice.label for choice in choices if choice.code == code), "Not given")


class MemberDirectoryPages(Controller):
    """The members list, a member's page, and erasure."""

    include_in_schema = False
    guards: ClassVar = [requires("staff")]

    @get(MEMBERS_URL)
    async def overview(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template:
        """Counts by district and status; with ?q=, the members whose address contains it."""
        query = (request.query_params.get("q") or "")[:MAX_QUERY_CHARS]
        found = None
        if query.strip():
            found = await directory.search(db_session, query, actor=principal_of(request), ip=client_ip(request))
            await db_session.commit()  # the audit of the read stays, whatever happens next
        rows = district_rows(await directory.counts(db_session))
        return Template(
            "members/members.html",
            context={
                "rows": rows,
                "statuses": directory.STATUSES,
                "totals": {status: sum(row.by_status[status] for row in rows) for status in directory.STATUSES},
                "query": query,
                "found": found,
                "limit": directory.SEARCH_LIMIT,
                "district_names": {code: district.name for code, district in districts_by_code().items()},
                "flash": take_flash(request),
            },
            headers={"Cache-Control": "no-store"},
        )

    @get(f"{MEMBERS_URL}/{{member_id:int}}")
    async def member(self, request: Req, db_session: NamedDependency[AsyncSession], member_id: RowId) -> Template:
        """One member's details (the read is audited) and the way to erase them."""
        try:
            details = await directory.read(db_session, member_id, actor=principal_of(request), ip=client_ip(request))
        except directory.MemberNotFound as exc:
            raise NotFoundException() from exc
        await db_session.commit()
        district = districts_by_code().get(details.district_code or "")
        return Template(
            "members/member.html",
            context={
                "member": details,
                "district": district.name if district else "None",
                "age_band": _label(AGE_BANDS, details.age_band),
                "sex": _label(SEXES, details.sex),
                "joined": staff_time(details.joined_at),
                "consent": f"{details.consent_version or 'none'}, {staff_time(details.consent_at)}",
            },
            headers={"Cache-Control": "no-store"},
        )

    @post(f"{MEMBERS_URL}/{{member_id:int}}/erase")
    async def erase(self, request: Req, db_session: NamedDependency[AsyncSession], member_id: RowId) -> Redirect:
        """Remove the member's address and details for good."""
        try:
            await directory.erase(db_session, member_id, actor=principal_of(request), ip=client_ip(request))
        except directory.MemberNotFound as exc:
            raise NotFoundException() from exc
        await db_session.commit()
        flash(request, f"Member {member_id} has been erased: their address and details are gone for good.")
        return see_other(MEMBERS_URL)
