"""The recorded-crime section in the CSV and XLSX files: columns on the issue rows, and two sheets.

The CSV keeps one table (a row per area, weighting and issue): mapped issues' rows gain the
recorded incidents and rate (districts and county), how concern and crime rank (districts) and
the rank correlation with its p-value (county). The workbook adds a sheet of every district's rate
beside its score, and one of the correlations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from analysis.recorded_crime import IssueCrime, RecordedCrime

CRIME_COLUMNS = [
    "recorded_crime_months",
    "recorded_incidents",
    "recorded_per_1000",
    "crime_rank_minus_concern_rank",
    "concern_versus_crime",
    "crime_rank_correlation",
    "crime_correlation_p",
]
_BLANK = [None] * len(CRIME_COLUMNS)


def months_text(crime: RecordedCrime) -> str:
    """ "2022-10", "2022-10 to 2022-12 (3 months)", or "" when there are none."""
    if not crime.months:
        return ""
    if len(crime.months) == 1:
        return crime.months[0]
    return f"{crime.months[0]} to {crime.months[-1]} ({len(crime.months)} months)"


def _crime_cells(area_type: object, area_code: object, issue: IssueCrime | None, months: str) -> list[object]:
    if issue is None:
        return list(_BLANK)
    if area_type == "county":
        rho = issue.correlation
        return [
            months,
            issue.incidents,
            round(issue.per_1000, 4),
            None,
            None,
            None if rho is None else round(rho.rho, 4),
            None if rho is None else round(rho.p_value, 4),
        ]
    row = next((d for d in issue.districts if d.code == area_code), None)
    if row is None:
        return list(_BLANK)
    return [months, row.incidents, round(row.per_1000, 4), row.rank_difference, row.verdict, None, None]


def with_crime_columns(rows: Iterable[list[object]], crime: RecordedCrime | None) -> Iterator[list[object]]:
    """Issue rows (exports.issue_rows) with the crime columns added at the end."""
    by_issue = {issue.code: issue for issue in crime.issues} if crime else {}
    months = months_text(crime) if crime else ""
    for row in rows:
        yield [*row, *_crime_cells(row[0], row[1], by_issue.get(str(row[7])), months)]


RATE_HEADER = [
    "issue_code",
    "issue_label",
    "crime_types",
    "district_code",
    "district_name",
    "recorded_incidents",
    "recorded_per_1000",
    "priority_score",
    "concern_rank",
    "crime_rank",
    "crime_rank_minus_concern_rank",
    "concern_versus_crime",
]
CORRELATION_HEADER = [
    "issue_code",
    "issue_label",
    "crime_types",
    "months",
    "county_incidents",
    "county_per_1000",
    "districts_compared",
    "spearman_rho",
    "ci_low",
    "ci_high",
    "permutation_p",
    "concern_ahead_in",
    "concern_behind_in",
]


def rate_rows(crime: RecordedCrime | None) -> list[list[object]]:
    """Every mapped issue in every district: rate beside score, ranks and verdict."""
    if crime is None:
        return []
    return [
        [
            issue.code,
            issue.label,
            "; ".join(issue.crime_types),
            d.code,
            d.name,
            d.incidents,
            round(d.per_1000, 4),
            None if d.score is None else round(d.score, 1),
            d.concern_rank,
            d.crime_rank,
            d.rank_difference,
            d.verdict,
        ]
        for issue in crime.issues
        for d in issue.districts
    ]


def correlation_rows(crime: RecordedCrime | None) -> list[list[object]]:
    """One row per issue: the rank correlation and its uncertainty; unmapped issues say why."""
    if crime is None:
        return []
    months = months_text(crime)
    rows: list[list[object]] = []
    for issue in crime.issues:
        rho = issue.correlation
        rows.append(
            [
                issue.code,
                issue.label,
                "; ".join(issue.crime_types),
                months,
                issue.incidents,
                round(issue.per_1000, 4),
                None if rho is None else rho.districts,
                None if rho is None else round(rho.rho, 4),
                None if rho is None else round(rho.ci[0], 4),
                None if rho is None else round(rho.ci[1], 4),
                None if rho is None else round(rho.p_value, 4),
                ", ".join(issue.ahead),
                ", ".join(issue.behind),
            ]
        )
    for unmapped in crime.unmapped:
        rows.append([unmapped.code, unmapped.label, unmapped.reason, months] + [None] * 9)
    return rows
