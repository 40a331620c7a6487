"""The report's recorded-crime section: police.uk counts for the months chosen, set beside the scores.

It is worked out per request from the cached report (the scores) and the crime counts (a small
aggregate query), not cached with the report: the months are the reader's choice, and an import
must show at once. The statistics are analysis.recorded_crime's; the counts and the mapping from
issues to crime types are the crime feature's.
"""

from __future__ import annotations

import dataclasses
import re

import anyio.to_thread
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from analysis.recorded_crime import recorded_crime
from analysis.schemas import District
from talking.crime import services as crime
from talking.crime.mapping import issue_crime_types
from talking.errors import FieldError, RulesBroken
from talking.reference import districts_by_code
from talking.reports.service import SurveyReport

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"  # ASCII digits only (\d takes any script's)
_MONTH = re.compile(MONTH_PATTERN)


class MonthsBroken(RulesBroken):
    """The months asked for are not months, or run backwards; nothing was read."""


def check_months(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """The range asked for (either end may be open), or MonthsBroken saying what is wrong."""
    errors = [
        FieldError(name, f"Enter the month as YYYY-MM, for example 2022-10 (not {value[:20]!r})")
        for name, value in (("crime_from", first), ("crime_to", last))
        if value is not None and value != "" and not _MONTH.fullmatch(value)
    ]
    first, last = first or None, last or None
    if not errors and first and last and first > last:
        errors.append(FieldError("crime_to", f"The last month ({last}) must not be before the first ({first})"))
    if errors:
        raise MonthsBroken(errors)
    return first, last


def read_counts(conn: Connection, first: str | None = None, last: str | None = None):
    """The months imported, those chosen, and their incidents by district (one read, for ``attach``)."""
    available = crime.imported_months(conn)
    months = [m for m in available if (first is None or m >= first) and (last is None or m <= last)]
    return available, months, crime.incidents_by_district(conn, months)


def _scores(district: District) -> dict[str, float]:
    """A district's published scores by issue (weighted where there is weighting); none when suppressed."""
    if district.suppressed:
        return {}
    return {i.code: i.score for i in (district.weighted_issues or district.issues)}


def attach(built: SurveyReport, available: list[str], months: list[str], incidents) -> SurveyReport:
    """The report with its recorded-crime section (CPU: the permutation tests)."""
    f = built.frame
    reference = districts_by_code()
    by_district = {d.code: _scores(d) for d in built.report.districts}
    scores = {code: {d: by_district.get(d, {}).get(code) for d in f.district_codes} for code in f.issue_codes}
    section = recorded_crime(
        issue_crime_types(f.issue_codes, f.issue_labels),
        f.district_codes,
        f.district_names,
        [reference[code].population for code in f.district_codes],
        incidents,
        scores,
        months=months,
        available_months=available,
        random_state=built.report.method.random_state,
    )
    return dataclasses.replace(built, recorded_crime=section)


async def with_recorded_crime(
    engine: AsyncEngine, built: SurveyReport, first: str | None = None, last: str | None = None
) -> SurveyReport:
    """Read the counts for the months chosen (all imported by default) and add the section."""
    first, last = check_months(first, last)
    async with engine.connect() as conn:
        available, months, incidents = await conn.run_sync(read_counts, first, last)
    return await anyio.to_thread.run_sync(attach, built, available, months, incidents)


def with_recorded_crime_sync(conn: Connection, built: SurveyReport) -> SurveyReport:
    """The same for the command line (every month imported), on its connection."""
    available, months, incidents = read_counts(conn)
    return attach(built, available, months, incidents)
