"""The report's findings beyond the issue tables, as views: district groups, opinion groups,
comment themes and wave-on-wave changes. Suppressed districts carry no count here either.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from analysis.schemas import Clusters, OpinionGroups, Waves
from talking.reports import charts
from talking.reports.service import SurveyReport
from talking.reports.views import signed

WAVE_VERDICTS = {"rose": "Rose", "fell": "Fell", "no clear change": "No clear change"}


@dataclass(frozen=True, slots=True)
class ClusterGroupView:
    """Districts with a similar concern profile."""

    name: str
    districts: list[tuple[str, str]]  # code, name
    defining: list[str]  # issue labels


@dataclass(frozen=True, slots=True)
class ClustersView:
    """District groups, or why there are none."""

    distinct: bool
    explanation: str
    profile: str
    groups: list[ClusterGroupView]
    excluded: list[str]  # names of suppressed districts left out


@dataclass(frozen=True, slots=True)
class OpinionGroupView:
    """One opinion group: its size, what sets it apart, and its profile as a chart and a table."""

    id: str
    name: str
    size: str
    share: str
    defining: list[tuple[str, str]]  # issue label, "picked by x% of the group, y% of everyone else"
    chart: Markup
    profile: list[tuple[str, str]]  # issue label, score


@dataclass(frozen=True, slots=True)
class OpinionView:
    """Opinion groups, how clear-cut they are, and each district's share in each group."""

    distinct: bool
    summary: str
    groups: list[OpinionGroupView]
    names: list[str]
    districts: list[tuple[str, str, list[str]]]  # code, name, one cell per group


@dataclass(frozen=True, slots=True)
class GroupsView:
    """The groups page."""

    clusters: ClustersView | None
    opinion: OpinionView | None


@dataclass(frozen=True, slots=True)
class ThemeView:
    """A theme in residents' comments."""

    terms: str
    size: int
    quotes: list[str]


@dataclass(frozen=True, slots=True)
class WaveRow:
    """One issue's score last wave and now."""

    label: str
    previous: str
    current: str
    change: str
    verdict: str


@dataclass(frozen=True, slots=True)
class WaveTable:
    """Changes in one area."""

    id: str
    area: str
    rows: list[WaveRow]


@dataclass(frozen=True, slots=True)
class WavesView:
    """This wave against the previous one."""

    previous_version: str
    shared: list[str]
    added: list[str]
    dropped: list[str]
    tables: list[WaveTable]
    without: list[str]  # areas with no figures to compare (suppressed or unanswered in a wave)


@dataclass(frozen=True, slots=True)
class ThemesView:
    """The themes page."""

    themes: list[ThemeView]
    waves: WavesView | None


def cluster_explanation(clusters: Clusters) -> str:
    """Why the districts do, or do not, fall into groups: the silhouette against its two bars."""
    s, noise, bar = clusters.silhouette, clusters.noise_silhouette, clusters.threshold
    if s is None:
        return "Too few districts have figures to look for groups."
    noise_text = (
        "" if noise is None else f" and above the {noise:.2f} that sampling noise alone reaches 95% of the time"
    )
    if clusters.distinct:
        return (
            f"The districts fall into {len(clusters.groups)} groups: the best split's silhouette is {s:.2f}, "
            f"above the {bar:.2f} threshold{noise_text}."
        )
    if s < bar:
        return (
            f"No distinct groups: the best split's silhouette is {s:.2f}, under the {bar:.2f} below which "
            "structure is weak or artificial."
        )
    return (
        f"No distinct groups: the best split's silhouette is {s:.2f}, no better than the "
        f"{noise:.2f} that sampling noise alone reaches 95% of the time, so the differences between "
        "districts' profiles are within what chance gives."
    )


def clusters_view(built: SurveyReport) -> ClustersView | None:
    """District groups."""
    clusters = built.report.clusters
    if clusters is None:
        return None
    district_names, labels = built.frame.district_name_of(), built.frame.issue_label_of()
    groups = [
        ClusterGroupView(
            g.name,
            [(c, district_names.get(c, c)) for c in g.districts],
            [labels.get(c, c) for c in g.defining_issues],
        )
        for g in clusters.groups
    ]
    return ClustersView(
        distinct=clusters.distinct,
        explanation=cluster_explanation(clusters),
        profile=clusters.profile,
        groups=groups,
        excluded=[district_names.get(c, c) for c in clusters.excluded],
    )


def opinion_summary(opinion: OpinionGroups) -> str:
    """How clear-cut the groups are, in words."""
    stability = "not measured" if opinion.stability is None else f"{opinion.stability:.2f}"
    numbers = (
        f"silhouette {opinion.silhouette:.2f}; stability {stability}, the adjusted Rand index between refits; "
        f"fitted on {opinion.fitted_on:,} respondents, {opinion.assigned:,} assigned"
    )
    if opinion.distinct:
        return f"{len(opinion.groups)} distinct groups of residents ({numbers})."
    return (
        f"These groups are not clear-cut ({numbers}): read them as tendencies among residents, not as separate camps."
    )


def opinion_view(built: SurveyReport) -> OpinionView | None:
    """Opinion groups with their profiles and shares by district."""
    opinion = built.report.opinion_groups
    if opinion is None:
        return None
    district_names, labels = built.frame.district_name_of(), built.frame.issue_label_of()
    groups = []
    for n, g in enumerate(opinion.groups, start=1):
        ordered = sorted(g.profile.items(), key=lambda item: -item[1])
        bars = [charts.Bar(labels.get(c, c), v) for c, v in ordered]
        top = "; ".join(f"{b.label} {b.value:.1f}" for b in bars[:3])
        chart = charts.bar_chart(
            bars,
            chart_id=f"opinion-{n}-chart",
            title=f"Group {n}, {g.name}: priority scores within the group",
            description=(
                f"Bar chart of the mean priority score of each of {len(bars)} issues among this group's "
                f"residents, highest first. Highest: {top}. The table after it gives every figure."
            ),
        )
        defining = [
            (
                labels.get(d.code, d.code),
                f"picked by {d.group_share:.0%} of the group and {d.rest_share:.0%} of everyone else",
            )
            for d in g.defining_issues
        ]
        groups.append(
            OpinionGroupView(
                id=f"opinion-{n}",
                name=g.name,
                size=f"{g.size:,}",
                share=f"{g.share:.1%}",
                defining=defining,
                chart=chart,
                profile=[(b.label, f"{b.value:.1f}") for b in bars],
            )
        )
    rows: dict[str, list[str]] = {}
    for g in opinion.groups:
        for cell in g.districts:
            if cell.suppressed or cell.count is None:
                text = "suppressed"
            else:
                share = "" if cell.share is None else f" ({cell.share:.1%})"
                text = f"{cell.count:,}{share}" + (" (small base)" if cell.flagged and cell.count else "")
            rows.setdefault(cell.district, []).append(text)
    return OpinionView(
        distinct=opinion.distinct,
        summary=opinion_summary(opinion),
        groups=groups,
        names=[f"Group {n}: {g.name}" for n, g in enumerate(opinion.groups, start=1)],
        districts=[(code, district_names.get(code, code), cells) for code, cells in rows.items()],
    )


def groups_view(built: SurveyReport) -> GroupsView:
    """The groups page."""
    return GroupsView(clusters_view(built), opinion_view(built))


def waves_view(built: SurveyReport, waves: Waves) -> WavesView:
    """Wave-on-wave changes, county first."""
    district_names, labels = built.frame.district_name_of(), built.frame.issue_label_of()
    tables, without = [], []
    for area in waves.areas:
        name = "County" if area.area == "county" else district_names.get(area.area, area.area)
        if not area.changes:
            without.append(name)
            continue
        rows = [
            WaveRow(
                c.label,
                f"{c.previous:.1f}",
                f"{c.current:.1f}",
                signed(c.change),
                WAVE_VERDICTS.get(c.verdict, c.verdict),
            )
            for c in area.changes
        ]
        tables.append(WaveTable(f"wave-{area.area}", name, rows))
    return WavesView(
        previous_version=waves.previous_version,
        shared=[labels.get(c, c) for c in waves.shared],
        added=[labels.get(c, c) for c in waves.added],
        dropped=list(waves.dropped),
        tables=tables,
        without=without,
    )


def themes_view(built: SurveyReport) -> ThemesView:
    """The themes page."""
    report = built.report
    themes = [ThemeView(", ".join(t.terms), t.size, list(t.quotes)) for t in report.themes]
    return ThemesView(themes, None if report.waves is None else waves_view(built, report.waves))
