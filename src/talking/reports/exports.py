"""The report as files: JSON, CSV (one row per area and issue) and XLSX (a sheet per table).

Every text cell a resident could have typed is neutralised against spreadsheet formula
injection: a leading =, +, -, @, tab or carriage return gets a leading apostrophe (OWASP).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

import msgspec
import xlsxwriter

from analysis.schemas import District, IssueResult, Report
from talking.reports.crime_exports import (
    CORRELATION_HEADER,
    CRIME_COLUMNS,
    RATE_HEADER,
    correlation_rows,
    months_text,
    rate_rows,
    with_crime_columns,
)
from talking.reports.service import SurveyReport

_FORMULA_STARTS = "=+-@\t\r"

ISSUE_COLUMNS = [
    "area_type",
    "area_code",
    "area_name",
    "weighting",
    "responses",
    "suppressed",
    "flagged",
    "issue_code",
    "issue_label",
    "rank",
    "rank_best",
    "rank_worst",
    "score",
    "score_ci_low",
    "score_ci_high",
    "mean_points",
    "first_choice_count",
    "first_choice_base",
    "first_choice_share",
    "mention_count",
    "mention_base",
    "mention_share",
    "p_top3",
    "versus_county",
    "difference_from_county",
    "p_adjusted",
    # county rows only: the suppressed districts the county figures leave out (codes), and their answers
    "county_leaves_out",
    "county_left_out_responses",
]


def safe_text(value: object) -> object:
    """A cell value that a spreadsheet will not run as a formula (cheap: it runs on every streamed cell)."""
    if isinstance(value, str) and value and value[0] in _FORMULA_STARTS:
        return "'" + value
    return value


def to_json(built: SurveyReport) -> bytes:
    """The report document as JSON."""
    return msgspec.json.encode(built.document())


def _issue_row(area: list[object], issue: IssueResult) -> list[object]:
    versus = issue.versus_county
    return [
        *area,
        issue.code,
        issue.label,
        issue.rank,
        issue.rank_range[0],
        issue.rank_range[1],
        round(issue.score, 4),
        round(issue.score_ci[0], 4),
        round(issue.score_ci[1], 4),
        round(issue.mean_points, 6),
        issue.first_choice_share.numerator,
        issue.first_choice_share.denominator,
        round(issue.first_choice_share.value, 6),
        issue.mention_share.numerator,
        issue.mention_share.denominator,
        round(issue.mention_share.value, 6),
        round(issue.p_top3, 4),
        None if versus is None else versus.verdict,
        None if versus is None else round(versus.difference, 4),
        None if versus is None or versus.p_adjusted is None else round(versus.p_adjusted, 6),
    ]


def issue_rows(report: Report, issue_labels: dict[str, str]) -> Iterator[list[object]]:
    """One row per area (county, then each district), weighting and issue; suppressed areas keep their rows, blank."""
    county = report.county
    left_out = [" ".join(county.left_out), county.left_out_responses]
    for weighting, table in (("unweighted", county.unweighted), ("weighted", county.weighted)):
        if table is not None:
            area = ["county", "", "County", weighting, county.responses, False, table.flagged]
            for issue in table.issues:
                yield [*_issue_row(area, issue), *left_out]
    for district in report.districts:
        tables = [("unweighted", district.issues), ("weighted", district.weighted_issues)]
        if district.suppressed:
            area = ["district", district.code, district.name, "unweighted", None, True, False]
            for code, label in issue_labels.items():
                yield [*area, code, label] + [None] * (len(ISSUE_COLUMNS) - len(area) - 2)
            continue
        for weighting, issues in tables:
            area = ["district", district.code, district.name, weighting, district.responses, False, district.flagged]
            for issue in issues or []:
                yield [*_issue_row(area, issue), None, None]


def to_csv(built: SurveyReport) -> str:
    """The issue table as CSV, one row per area, weighting and issue (recorded crime in the last columns)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ISSUE_COLUMNS + CRIME_COLUMNS)
    for row in with_crime_columns(issue_rows(built.report, built.frame.issue_label_of()), built.recorded_crime):
        writer.writerow([safe_text(v) for v in row])
    return out.getvalue()


def _sheet(book: xlsxwriter.Workbook, name: str, header: list[str], rows: Iterable[list[object]]) -> None:
    """One sheet: a bold, frozen, filterable header row over the rows; columns sized to fit."""
    sheet = book.add_worksheet(name)
    sheet.write_row(0, 0, header, book.add_format({"bold": True}))
    width = [len(h) for h in header]
    last = 0
    for last, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            sheet.write(last, c, safe_text(value))
            width[c] = min(max(width[c], len(str(value)) if value is not None else 0), 60)
    for c, w in enumerate(width):
        sheet.set_column(c, c, w + 2)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, last, len(header) - 1)


def to_xlsx(built: SurveyReport) -> bytes:
    """A workbook: the issue table, a heat map of scores, groups, themes, waves and method notes."""
    report, frame = built.report, built.frame
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    issues = with_crime_columns(issue_rows(report, built.frame.issue_label_of()), built.recorded_crime)
    _sheet(book, "Issues", ISSUE_COLUMNS + CRIME_COLUMNS, list(issues))
    _sheet(book, "Priority scores", *heat_map(report, frame.issue_codes, frame.issue_labels))
    groups = report.clusters.groups if report.clusters else []
    _sheet(
        book,
        "District groups",
        ["group", "districts", "defining_issues"],
        [[g.name, ", ".join(g.districts), ", ".join(g.defining_issues)] for g in groups],
    )
    opinion = report.opinion_groups.groups if report.opinion_groups else []
    _sheet(
        book,
        "Opinion groups",
        ["group", "size", "share", "defining_issues"],
        [[g.name, g.size, round(g.share, 4), ", ".join(d.code for d in g.defining_issues)] for g in opinion],
    )
    _sheet(
        book,
        "Themes",
        ["terms", "comments", "quotes"],
        [[", ".join(t.terms), t.size, " | ".join(t.quotes)] for t in report.themes],
    )
    changes = report.waves.areas if report.waves else []
    _sheet(
        book,
        "Waves",
        ["area", "issue_code", "issue_label", "previous", "current", "change", "p_adjusted", "verdict"],
        [
            [a.area, c.code, c.label, c.previous, c.current, c.change, c.p_adjusted, c.verdict]
            for a in changes
            for c in a.changes
        ],
    )
    _sheet(book, "Recorded crime", RATE_HEADER, rate_rows(built.recorded_crime))
    _sheet(book, "Crime and concern", CORRELATION_HEADER, correlation_rows(built.recorded_crime))
    _sheet(book, "Method", ["item", "value"], method_rows(built))
    book.close()
    return out.getvalue()


def district_scores(district: District, codes: list[str]) -> list[float | None]:
    """A district's priority scores for these issues, to one decimal place (weighted where there is
    weighting); None where it has none (suppressed, or no answers)."""
    by_code = {i.code: i for i in (district.weighted_issues or district.issues)}
    return [None if c not in by_code else round(by_code[c].score, 1) for c in codes]


def heat_map(report: Report, codes: list[str], labels: list[str]) -> tuple[list[str], list[list[object]]]:
    """District x issue priority scores (weighted where there is weighting), suppressed rows blank."""
    header = ["district_code", "district_name", "responses", *labels]
    rows = [
        [d.code, d.name, "suppressed" if d.suppressed else d.responses, *district_scores(d, codes)]
        for d in report.districts
    ]
    return header, rows


def method_rows(built: SurveyReport) -> list[list[object]]:
    """The method block as item/value rows, notes last."""
    m = built.report.method
    f = built.frame
    rows: list[list[object]] = [
        ["survey", f"{f.title} (id {f.id}, wave {f.wave})"],
        ["responses", built.report.responses],
        ["version", m.version],
        ["random state (seed)", m.random_state],
        ["intervals", m.interval],
        ["draws or bootstrap replicates (B)", m.draws],
        ["alpha", m.alpha],
        ["step-down", m.stepdown],
        ["suppression threshold (respondents)", m.min_cell],
        ["flagged below (respondents)", m.flag_base],
        ["weighting", m.weighting],
        *(["respondents who did not give " + margin, count] for margin, count in m.unknown_traits.items()),
        *([["respondents who gave none of them", m.unknown_on_every_margin]] if m.unknown_traits else []),
        ["county", m.county_weighting],
        ["county responses (published districts)", built.report.county.responses],
        ["county leaves out (suppressed districts)", ", ".join(built.report.county.left_out) or "none"],
        ["answers left out of the county", built.report.county.left_out_responses],
        ["multiple comparisons", m.multiple_comparisons],
        ["cluster threshold (silhouette)", m.cluster_threshold],
    ]
    rows.extend(["note", note] for note in m.notes)
    crime = built.recorded_crime
    if crime is not None:
        rows.append(["recorded crime months", months_text(crime) or "none imported"])
        rows.extend(["recorded crime note", note] for note in crime.notes)
        rows.append(["recorded crime source", CRIME_SOURCE])
    return rows


CRIME_SOURCE = "data.police.uk street-level crime, Open Government Licence v3.0"
