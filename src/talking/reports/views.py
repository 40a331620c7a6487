"""What the analyst pages show: a report turned into typed rows of ready-to-print text.

The pages and the standalone HTML file render the same views with the same partials; only
their links differ (`Links`): pages link to each other, the file to its own sections.
A suppressed district never reaches a view with a figure: its rows say only that it is suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from analysis.schemas import District, IssueResult, PlackettLuceCheck, Report, Share
from talking.reports import charts
from talking.reports.service import SurveyReport

VERDICTS = {"over": "Over", "under": "Under", "as county": "No clear difference"}


@dataclass(frozen=True, slots=True)
class Links:
    """Where the report's parts are: pages under `base`, or (base None) sections of one HTML file."""

    base: str | None

    def overview(self) -> str:
        """The overview."""
        return self.base or "#overview"

    def district(self, code: str) -> str:
        """A district's page or section."""
        return f"{self.base}/districts/{code}" if self.base else f"#district-{code}"

    def groups(self) -> str:
        """District clusters and opinion groups."""
        return f"{self.base}/groups" if self.base else "#groups"

    def themes(self) -> str:
        """Comment themes and wave-on-wave changes."""
        return f"{self.base}/themes" if self.base else "#themes"

    def crime(self) -> str:
        """Recorded crime beside concern."""
        return f"{self.base}/crime" if self.base else "#crime"

    def download(self, fmt: str) -> str:
        """The report as a file (pages only)."""
        return f"{self.base}.{fmt}"


# --- numbers as words -------------------------------------------------------------------------------


def share_text(share: Share) -> str:
    """ "83 of 308 (26.9%)"; weighted sums to one decimal; just the percentage when there is no base."""
    percent = f"{share.value:.1%}"
    n, base = share.numerator, share.denominator
    if n is None or base is None:
        return percent
    if isinstance(n, int) and isinstance(base, int):
        return f"{n:,} of {base:,} ({percent})"
    return f"{n:,.1f} of {base:,.1f} ({percent})"


def rank_range_text(low: int, high: int) -> str:
    """ "2" or "1 to 3"."""
    return str(low) if low == high else f"{low} to {high}"


def signed(x: float) -> str:
    """ "+13.8" or "−5.2" (a true minus sign)."""
    return f"+{x:.1f}" if x >= 0 else f"\u2212{-x:.1f}"


def suppression_text(district: District, min_cell: int) -> str:
    """Why a district shows no figures."""
    if district.suppression == "primary":
        return f"suppressed (fewer than {min_cell} answers)"
    return "suppressed (so that a smaller district's figures cannot be worked out)"


# --- issue tables ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueRow:
    """One issue in one area, as text."""

    code: str
    label: str
    rank: int
    rank_range: str
    score: str
    score_ci: str
    first_choice: str
    mentions: str
    p_top3: str
    versus: str | None
    verdict: str | None  # over, under, as county
    plackett_luce: str | None
    disagrees: bool


@dataclass(frozen=True, slots=True)
class IssueTableView:
    """An area's issues under one weighting, best first."""

    id: str
    caption: str
    weighted: bool
    rows: list[IssueRow]
    with_versus: bool
    with_plackett_luce: bool


def issue_row(issue: IssueResult, pl: PlackettLuceCheck | None) -> IssueRow:
    """An issue's figures as text."""
    versus = issue.versus_county
    pl_text, disagrees = None, False
    if pl is not None and issue.code in pl.ranks:
        disagrees = issue.code in pl.disagree
        pl_text = str(pl.ranks[issue.code]) + (" (outside the rank range)" if disagrees else "")
    return IssueRow(
        code=issue.code,
        label=issue.label,
        rank=issue.rank,
        rank_range=rank_range_text(*issue.rank_range),
        score=f"{issue.score:.1f}",
        score_ci=f"{issue.score_ci[0]:.1f} to {issue.score_ci[1]:.1f}",
        first_choice=share_text(issue.first_choice_share),
        mentions=share_text(issue.mention_share),
        p_top3=f"{issue.p_top3:.0%}",
        versus=None if versus is None else f"{VERDICTS[versus.verdict]} ({signed(versus.difference)})",
        verdict=None if versus is None else versus.verdict,
        plackett_luce=pl_text,
        disagrees=disagrees,
    )


def issue_table(
    id: str, caption: str, issues: list[IssueResult], *, weighted: bool, pl: PlackettLuceCheck | None = None
) -> IssueTableView:
    """A table of issues, in the order the analysis gives them (best first: rank, then mean points)."""
    rows = [issue_row(i, pl) for i in issues]
    return IssueTableView(
        id=id,
        caption=caption,
        weighted=weighted,
        rows=rows,
        with_versus=any(r.versus for r in rows),
        with_plackett_luce=any(r.plackett_luce for r in rows),
    )


def score_chart(
    chart_id: str, area: str, issues: list[IssueResult], county: dict[str, float] | None, weighted: bool
) -> Markup:
    """Priority scores with their intervals, issues in rank order, the county's score as a tick."""
    # issues come best first, as the analysis gives them
    rows = [
        charts.Interval(
            label=f"{i.rank}. {i.label}",
            value=i.score,
            low=i.score_ci[0],
            high=i.score_ci[1],
            reference=None if county is None else county.get(i.code),
        )
        for i in issues
    ]
    how = "weighted" if weighted else "unweighted"
    leaders = "; ".join(f"{i.label} {i.score:.1f} ({i.score_ci[0]:.1f} to {i.score_ci[1]:.1f})" for i in issues[:3])
    description = (
        f"Dot-and-whisker chart of {len(issues)} issues' {how} priority scores in {area}, highest first, "
        f"each with its 95% interval{', and the county score as a tick' if county else ''}. "
        f"Top three: {leaders}. The table below gives every figure."
    )
    return charts.dot_whisker(
        rows,
        chart_id=chart_id,
        title=f"Priority scores in {area} ({how}), with 95% intervals",
        description=description,
        reference_label="county score" if county else None,
    )


# --- the survey -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyInfo:
    """The survey the report is about."""

    id: int
    title: str
    wave: int
    status: str
    responses: int
    max_picks: int
    repeat_answers: str  # "n (x%)": answers from a browser that had already answered


def survey_info(built: SurveyReport) -> SurveyInfo:
    """The survey's name, wave and size."""
    f, r = built.frame, built.report
    share = built.repeat_answers / r.responses if r.responses else 0.0
    repeats = f"{built.repeat_answers:,} ({share:.1%})"
    return SurveyInfo(f.id, f.title, f.wave, f.status, r.responses, r.max_picks, repeats)


# --- a district -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistrictView:
    """One district's page, or only the fact that it is suppressed."""

    code: str
    name: str
    suppressed: str | None
    responses: int | None
    flagged: bool
    flag_base: int
    effective_n: str | None
    design_effect: str | None
    tables: list[IssueTableView] = field(default_factory=list)
    chart: Markup | None = None
    over: list[str] = field(default_factory=list)
    under: list[str] = field(default_factory=list)
    plackett_luce: str | None = None
    disagree: list[str] = field(default_factory=list)


def find_district(report: Report, code: str) -> District | None:
    """The district with this code in the report, if any."""
    return next((d for d in report.districts if d.code == code), None)


def district_view(built: SurveyReport, district: District) -> DistrictView:
    """A district's tables, chart, verdicts and checks (nothing but its suppression when suppressed)."""
    report = built.report
    m = report.method
    if district.suppressed:
        return DistrictView(
            district.code, district.name, suppression_text(district, m.min_cell), None, False, m.flag_base, None, None
        )
    code = district.code
    tables = []
    if district.weighted_issues:
        tables.append(
            issue_table(f"{code}-weighted", f"{district.name}, weighted", district.weighted_issues, weighted=True)
        )
    if district.issues:
        tables.append(
            issue_table(
                f"{code}-unweighted",
                f"{district.name}, unweighted",
                district.issues,
                weighted=False,
                pl=district.plackett_luce,
            )
        )
    headline = district.weighted_issues or district.issues
    county_table = report.county.weighted if district.weighted_issues else report.county.unweighted
    county = {i.code: i.score for i in county_table.issues} if county_table else None
    chart = None
    if headline:
        chart = score_chart(f"{code}-chart", district.name, headline, county, bool(district.weighted_issues))
    labels = {i.code: i.label for i in headline}
    verdicts = {i.code: i.versus_county.verdict for i in headline if i.versus_county}
    pl_text, disagree = None, []
    if district.plackett_luce is not None:
        pl = district.plackett_luce
        ranges = {i.code: i.rank_range for i in district.issues}
        disagree = [
            f"{labels.get(c, c)}: Plackett-Luce rank {pl.ranks[c]}, Borda rank range {rank_range_text(*ranges[c])}"
            for c in pl.disagree
            if c in ranges
        ]
        pl_text = f"Fitted on {pl.respondents:,} respondents" + (
            "; it puts every issue inside its Borda rank range." if not disagree else "."
        )
    return DistrictView(
        code=code,
        name=district.name,
        suppressed=None,
        responses=district.responses,
        flagged=district.flagged,
        flag_base=m.flag_base,
        effective_n=None if district.effective_n is None else f"{district.effective_n:,.1f}",
        design_effect=None if district.design_effect is None else f"{district.design_effect:.2f}",
        tables=tables,
        chart=chart,
        over=[labels[c] for c, v in verdicts.items() if v == "over"],
        under=[labels[c] for c, v in verdicts.items() if v == "under"],
        plackett_luce=pl_text,
        disagree=disagree,
    )
