"""Response rates of a members survey: invited, answered and the rate, by district and for the county.

One query over the invitations (``ix_invitations_survey_district``), read by the staff survey page,
``GET /api/v1/surveys/{id}/counts`` and the report's method section, so all three say the same.
Only counts leave this module: never a member, an email or a token.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import Connection, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking.db.models import invitations
from talking.reference import districts_by_code

# A district's rate is flagged as low under this share of its invitees answering...
LOW_RATE = 0.10
# ...or with fewer answers than this (too few to say much about the district on their own).
FEW_ANSWERS = 20


class DistrictRate(msgspec.Struct, frozen=True):
    """Invitations and answers in one district (or the county)."""

    code: str
    name: str
    invited: int
    answered: int
    # answered / invited, or None before anyone is invited
    rate: float | None
    # Under LOW_RATE, or fewer than FEW_ANSWERS answers, once invitations have gone out.
    low: bool

    @property
    def rate_text(self) -> str:
        """The rate in words, as the pages and the report give it."""
        return percent(self.rate)


class ResponseRates(msgspec.Struct, frozen=True):
    """A survey's response rates: one row per district with invitations, and the county's."""

    districts: list[DistrictRate]
    county: DistrictRate

    @property
    def any_invited(self) -> bool:
        """Whether any invitation has been sent."""
        return self.county.invited > 0

    @property
    def low(self) -> list[DistrictRate]:
        """The districts whose rate is low, for the warnings."""
        return [d for d in self.districts if d.low]


def _rate(code: str, name: str, invited: int, answered: int) -> DistrictRate:
    rate = answered / invited if invited else None
    low = invited > 0 and ((rate is not None and rate < LOW_RATE) or answered < FEW_ANSWERS)
    return DistrictRate(code=code, name=name, invited=invited, answered=answered, rate=rate, low=low)


def rates_query(survey_id: int) -> Select[tuple[str, int, int]]:
    """Invited and answered by district for one survey."""
    return (
        select(
            invitations.c.district_code,
            func.count().label("invited"),
            func.count(invitations.c.used_on).label("answered"),
        )
        .where(invitations.c.survey_id == survey_id)
        .group_by(invitations.c.district_code)
    )


def rates_of(rows: list[tuple[str, int, int]], covered: tuple[str, ...] = ()) -> ResponseRates:
    """The rates from the query's rows; districts the survey covers with no invitation show as zeros."""
    names = districts_by_code()
    counted = {code: (int(invited), int(answered)) for code, invited, answered in rows}
    codes = set(covered) | set(counted)
    by_district = sorted(
        (_rate(code, names[code].name, *counted.get(code, (0, 0))) for code in codes if code in names),
        key=lambda d: d.name,
    )
    invited = sum(d.invited for d in by_district)
    answered = sum(d.answered for d in by_district)
    county = _rate("county", "Lancashire (all districts)", invited, answered)
    # The county's own flag is about its rate alone: a small panel is not the county's fault.
    county = msgspec.structs.replace(county, low=county.rate is not None and county.rate < LOW_RATE)
    return ResponseRates(districts=by_district, county=county)


async def response_rates(
    db: AsyncSession | AsyncConnection, survey_id: int, covered: tuple[str, ...] = ()
) -> ResponseRates:
    """A survey's response rates (all zeros for a survey with no invitations)."""
    rows = [(code, invited, answered) for code, invited, answered in await db.execute(rates_query(survey_id))]
    return rates_of(rows, covered)


def response_rates_now(conn: Connection, survey_id: int) -> ResponseRates:
    """The same on a synchronous connection (the report is loaded in a worker thread)."""
    rows = [(code, invited, answered) for code, invited, answered in conn.execute(rates_query(survey_id))]
    return rates_of(rows)


def invited_count(conn: Connection, survey_id: int) -> int:
    """How many have been invited to the survey (the report's cache key: new invitations change its rates)."""
    query = select(func.count()).select_from(invitations).where(invitations.c.survey_id == survey_id)
    return int(conn.execute(query).scalar_one())


def rate_notes(rates: ResponseRates) -> list[str]:
    """The response rates as the report's method notes: the county's, each district's, and a warning if low."""
    county = rates.county
    by_district = "; ".join(
        f"{d.name} {percent(d.rate)} ({d.answered:,} of {d.invited:,})" for d in rates.districts if d.invited
    )
    notes = [
        f"Invited panel members only: {county.invited:,} invited, {county.answered:,} answered, a response rate "
        f"of {percent(county.rate)}. By district: {by_district}."
    ]
    if rates.low:
        low = ", ".join(f"{d.name} ({percent(d.rate)}, {d.answered:,} of {d.invited:,})" for d in rates.low)
        notes.append(
            f"Warning: a low response rate (under {LOW_RATE:.0%} of those invited, or fewer than {FEW_ANSWERS} "
            f"answers) in {low}. The answers from these districts may not speak for their residents."
        )
    return notes


def percent(rate: float | None) -> str:
    """A rate as staff and analysts read it: "42%", "9.8%" (a tenth shown under 10%, so a low rate never
    reads as "10%"), or "no invitations"."""
    if rate is None:
        return "no invitations"
    return f"{rate:.1%}" if 0 < rate < LOW_RATE else f"{rate:.0%}"
