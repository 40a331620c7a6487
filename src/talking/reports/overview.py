"""The overview page: the survey, its method, the county's issues, and every district side by side.

The heat map prints every score; its six shades only repeat them for the eye. A suppressed district's
row says so and carries no figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup

from analysis.schemas import District, IssueResult, IssueTable, Report
from talking.reports.exports import district_scores
from talking.reports.issue_map import IssueMap, issue_map_view
from talking.reports.service import SurveyReport
from talking.reports.views import (
    IssueTableView,
    Links,
    SurveyInfo,
    issue_table,
    score_chart,
    suppression_text,
    survey_info,
)

HEAT_BANDS = 6


@dataclass(frozen=True, slots=True)
class HeatCell:
    """One district's score for one issue, and its shade (0 lightest to 5 darkest)."""

    text: str
    band: int | None


@dataclass(frozen=True, slots=True)
class HeatRow:
    """One district across every issue, or its suppression."""

    code: str
    name: str
    responses: str
    suppressed: str | None
    flagged: bool
    empty: bool
    cells: list[HeatCell]


@dataclass(frozen=True, slots=True)
class HeatMap:
    """Districts (rows) by issues (columns, in the county's order) of priority scores."""

    issues: list[str]
    rows: list[HeatRow]
    legend: list[tuple[int, str]]
    weighted: bool
    flag_base: int


@dataclass(frozen=True, slots=True)
class Overview:
    """The overview page."""

    survey: SurveyInfo
    shown: bool  # False when the whole survey has too few answers to show anything
    min_cell: int
    method: list[tuple[str, str]]
    notes: list[str]
    county_left_out: str | None  # which suppressed districts the county figures leave out, in words
    county_tables: list[IssueTableView]
    county_chart: Markup | None
    heat_map: HeatMap | None
    issue_map: IssueMap | None  # one issue's score on the map of the districts
    districts: list[tuple[str, str, str]]  # code, name, state in words


def method_summary(report: Report) -> list[tuple[str, str]]:
    """The few method facts an analyst reads first."""
    m = report.method
    level = f"{1 - m.alpha:.0%}"
    interval = {"gaussian": "Gaussian draws", "bootstrap": "bootstrap replicates"}.get(m.interval, m.interval)
    return [
        ("Weighting", m.weighting),
        ("County figures", m.county_weighting),
        ("Intervals", f"{level} intervals from {m.draws:,} {interval}; rank ranges are simultaneous"),
        ("Random seed", "none" if m.random_state is None else str(m.random_state)),
        ("Shown only with", f"{m.min_cell} or more answers per district; under {m.flag_base} is a small base"),
        ("Multiple comparisons", m.multiple_comparisons),
        ("Analysis version", m.version),
    ]


def _band_width(values: list[float]) -> int:
    """The width of one shade band: a whole number of points such that the largest score is in the darkest."""
    return max(1, math.ceil(max(values, default=0.0) / HEAT_BANDS))


def heat_map_view(report: Report, headline: list[IssueResult]) -> HeatMap:
    """The heat map's rows, issues in the headline table's order; suppressed districts carry no figure."""
    order = [i.code for i in headline]
    scores = {d.code: district_scores(d, order) for d in report.districts}
    step = _band_width([v for row in scores.values() for v in row if v is not None])
    out = []
    for district in report.districts:
        if district.suppressed:
            text = suppression_text(district, report.method.min_cell)
            out.append(HeatRow(district.code, district.name, "", text, False, False, []))
            continue
        cells = [
            HeatCell("", None) if value is None else HeatCell(f"{value:.1f}", min(HEAT_BANDS - 1, int(value // step)))
            for value in scores[district.code]
        ]
        empty = not district.responses
        out.append(
            HeatRow(district.code, district.name, f"{district.responses or 0:,}", None, district.flagged, empty, cells)
        )
    legend = [
        (b, f"{b * step:g} to under {(b + 1) * step:g}" if b < HEAT_BANDS - 1 else f"{b * step:g} and over")
        for b in range(HEAT_BANDS)
    ]
    weighted = any(d.weighted_issues for d in report.districts)
    return HeatMap([i.label for i in headline], out, legend, weighted, report.method.flag_base)


def county_left_out(report: Report) -> str | None:
    """The suppressed districts the county figures leave out, and their answers, in a sentence (None: none)."""
    county = report.county
    if not county.left_out:
        return None
    names = {d.code: d.name for d in report.districts}
    which = ", ".join(names.get(code, code) for code in county.left_out)
    answers = county.left_out_responses
    return (
        f"The county figures are made from the published districts only. They leave out {which}, with "
        f"{answers:,} answer{'s' if answers != 1 else ''} between "
        f"{'them' if len(county.left_out) > 1 else 'it'}, so that no county figure can be used to work "
        f"out a suppressed district's."
    )


def district_state(district: District, min_cell: int, flag_base: int) -> str:
    """A district in a few words: its answers, a small base, or its suppression."""
    if district.suppressed:
        return suppression_text(district, min_cell)
    if not district.responses:
        return "no answers"
    small = f", a small base (under {flag_base})" if district.flagged else ""
    return f"{district.responses:,} answers{small}"


def overview_view(built: SurveyReport, links: Links | None = None, issue: str | None = None) -> Overview:
    """The overview: survey, method, county tables and chart, the map of `issue`, the heat map, the districts.

    `links` say where each district's figures are (sections of the one-file report by default);
    `issue` is the map's issue code (the county's top issue when None).
    """
    report = built.report
    county = report.county
    tables = []
    if county.weighted is not None:
        tables.append(issue_table("county-weighted", "County, weighted", county.weighted.issues, weighted=True))
    if county.unweighted is not None:
        pl = county.plackett_luce
        tables.append(
            issue_table("county-unweighted", "County, unweighted", county.unweighted.issues, weighted=False, pl=pl)
        )
    headline: IssueTable | None = county.weighted or county.unweighted
    chart = None
    heat = None
    issue_map = None
    if headline is not None:
        issue_map = issue_map_view(report, headline.issues, links or Links(None), issue)
        chart = score_chart("county-chart", "the county", headline.issues, None, headline.weighted)
        heat = heat_map_view(built.report, headline.issues)  # issues best first, as the analysis gives them
    m = report.method
    return Overview(
        survey=survey_info(built),
        shown=headline is not None,
        min_cell=m.min_cell,
        method=method_summary(report),
        notes=list(m.notes),
        county_left_out=county_left_out(report),
        county_tables=tables,
        county_chart=chart,
        heat_map=heat,
        issue_map=issue_map,
        districts=[(d.code, d.name, district_state(d, m.min_cell, m.flag_base)) for d in report.districts],
    )
