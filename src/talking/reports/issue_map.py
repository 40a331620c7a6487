"""The overview's map: one issue's priority score in every district, the issue picked from a list.

By default the map shows the county's top issue. A map of each district's own top issue was the
other choice, and was not taken: it needs a colour per issue (a categorical scheme), which cannot
be told apart in greyscale nor, past a few issues, by many colour-blind readers, and it hides how
clearly an issue leads. One issue's score on a sequential scale reads in greyscale, compares every
district on the same footing, and the list shows each issue in turn. The heat map beside it still
gives every issue in every district at once.

Suppressed districts reach the map as suppressed (hatched, said in words), never with a figure;
districts the survey does not cover, or with no answers, as having no answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.schemas import District, IssueResult, Report
from talking.reports.exports import district_scores
from talking.reports.views import Links

CHOOSE_AN_ISSUE = "Choose an issue from the list"


@dataclass(frozen=True, slots=True)
class IssueOption:
    """One issue in the list that picks the map's issue."""

    code: str
    label: str
    selected: bool


@dataclass(frozen=True, slots=True)
class IssueMap:
    """What the overview's map and its picker show."""

    issue: str  # the chosen issue's code
    label: str
    options: list[IssueOption]
    values: dict[str, float | None]
    suppressed: dict[str, str]
    notes: dict[str, str]  # small bases
    links: dict[str, str]
    weighted: bool
    caption: str


def suppression_reason(district: District, min_cell: int) -> str:
    """Why a suppressed district shows nothing, in a few words."""
    if district.suppression == "primary":
        return f"fewer than {min_cell} answers"
    return "hidden so that a smaller district's figures cannot be worked out"


def is_known_issue(code: str | None, headline: list[IssueResult]) -> bool:
    """Whether `code` is one of the report's issues (None, not asked, is fine too)."""
    return code is None or any(i.code == code for i in headline)


def issue_map_view(report: Report, headline: list[IssueResult], links: Links, issue: str | None) -> IssueMap:
    """The map of `issue` (the county's top issue when None or unknown) across every district."""
    chosen = next((i for i in headline if i.code == issue), headline[0])
    min_cell = report.method.min_cell
    values, suppressed, notes, linked = {}, {}, {}, {}
    for district in report.districts:
        linked[district.code] = links.district(district.code)
        if district.suppressed:
            suppressed[district.code] = suppression_reason(district, min_cell)
        else:
            values[district.code] = district_scores(district, [chosen.code])[0]
            if district.flagged and district.responses:
                notes[district.code] = f"small base, under {report.method.flag_base}: read with care"
    weighted = any(d.weighted_issues for d in report.districts)
    how = ", weighted" if weighted else ""
    return IssueMap(
        issue=chosen.code,
        label=chosen.label,
        options=[IssueOption(i.code, i.label, i.code == chosen.code) for i in headline],
        values=values,
        suppressed=suppressed,
        notes=notes,
        links=linked,
        weighted=weighted,
        caption=f"{chosen.label}: priority score in each district{how}",
    )
