"""The recorded-crime section as the page (and the one-file HTML report) shows it: words, tables, charts.

The figures are analysis.recorded_crime's; this turns them into sentences an analyst can quote,
rows for GOV.UK tables and one chart per issue (how far concern ranks ahead of or behind the
recorded rate in each district), with the same figures in the table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup

from analysis.recorded_crime import IssueCrime, RankCorrelation, RecordedCrime, UnmappedIssue
from talking.reports.charts import Bar, diverging_bars
from talking.reports.crime_exports import months_text


@dataclass(frozen=True, slots=True)
class IssueCrimeView:
    """One mapped issue on the page."""

    code: str
    label: str
    crime_types: str
    county: str  # "1,234 incidents, 8.2 per 1,000 residents"
    correlation: str  # the rank correlation in words, with its uncertainty
    ahead: str  # "" or "Concern runs well ahead of recorded crime in: Fylde, Wyre"
    behind: str
    rows: list[list[dict[str, object]]]  # GOV.UK table rows
    chart: Markup | None


@dataclass(frozen=True, slots=True)
class CrimeView:
    """The whole section."""

    imported: bool
    months: str
    available: list[str]
    first: str | None
    last: str | None
    notes: list[str]
    issues: list[IssueCrimeView]
    unmapped: list[UnmappedIssue]

    @property
    def query(self) -> str:
        """The months chosen as a query string for the download links ("" for every month)."""
        chosen = {k: v for k, v in (("crime_from", self.first), ("crime_to", self.last)) if v}
        return "?" + urlencode(chosen) if chosen else ""


def correlation_words(rho: RankCorrelation | None, label: str, alpha: float) -> str:
    """The rank correlation as a sentence that says how sure it is."""
    if rho is None:
        return "Too few districts with published scores (or no spread in them) to rank concern against recorded crime."
    level = round(100 * (1 - alpha))
    figures = (
        f"Spearman's rank correlation {rho.rho:+.2f} ({level}% interval {rho.ci[0]:+.2f} to {rho.ci[1]:+.2f};"
        f" permutation p = {rho.p_value:.3f}) across {rho.districts} districts."
    )
    if rho.p_value < alpha:
        direction = "more" if rho.rho > 0 else "less"
        verdict = f"Districts more concerned about {label.lower()} tend to record {direction} of it."
    else:
        verdict = (
            f"No clear link between concern about {label.lower()} and its recorded rate: with {rho.districts}"
            " districts only a strong link would show, so a weaker one may be there unseen."
        )
    return f"{figures} {verdict}"


def _number(value: float | None, places: int = 1) -> str:
    return "" if value is None else f"{value:,.{places}f}"


def _rank(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def _issue_view(issue: IssueCrime, alpha: float, months: str) -> IssueCrimeView:
    names = {d.code: d.name for d in issue.districts}
    rows = [
        [
            {"text": d.name},
            {"text": f"{d.incidents:,}", "format": "numeric"},
            {"text": _number(d.per_1000, 2), "format": "numeric"},
            {"text": _number(d.score) if d.score is not None else "not published", "format": "numeric"},
            {"text": _rank(d.concern_rank), "format": "numeric"},
            {"text": _rank(d.crime_rank), "format": "numeric"},
            {"text": "" if d.rank_difference is None else f"{d.rank_difference:+g}", "format": "numeric"},
            {"text": d.verdict or "not compared"},
        ]
        for d in issue.districts
    ]
    compared = [d for d in issue.districts if d.rank_difference is not None]
    chart = None
    if compared:
        chart = diverging_bars(
            [Bar(d.name, d.rank_difference or 0.0) for d in compared],
            limit=max(1.0, float(len(compared) - 1)),
            chart_id=f"crime-{issue.code}",
            title=f"{issue.label}: concern's rank against recorded crime's rank, by district",
            description=(
                "For each district, how many places higher (right) or lower (left) it ranks on residents' concern"
                f" than on recorded {'; '.join(issue.crime_types).lower()} per 1,000 residents ({months})."
                " The table beside the chart has the same figures."
            ),
            left_label="concern lower",
            right_label="concern higher",
        )
    return IssueCrimeView(
        code=issue.code,
        label=issue.label,
        crime_types="; ".join(issue.crime_types),
        county=f"{issue.incidents:,} incidents in all, {issue.per_1000:,.2f} per 1,000 residents",
        correlation=correlation_words(issue.correlation, issue.label, alpha),
        ahead=", ".join(names[c] for c in issue.ahead),
        behind=", ".join(names[c] for c in issue.behind),
        rows=rows,
        chart=chart,
    )


def crime_view(crime: RecordedCrime, first: str | None = None, last: str | None = None) -> CrimeView:
    """The section's words, tables and charts."""
    months = months_text(crime)
    return CrimeView(
        imported=bool(crime.available_months),
        months=months,
        available=crime.available_months,
        first=first,
        last=last,
        notes=crime.notes,
        issues=[_issue_view(issue, crime.alpha, months) for issue in crime.issues],
        unmapped=crime.unmapped,
    )
