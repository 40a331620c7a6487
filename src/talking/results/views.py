"""What the public results pages show, read from the database once per stamp (results.cache keeps it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from talking.reference import districts_by_code
from talking.results import story
from talking.results.moderation import Quote, Update, issue_labels, quotes_of, updates_of
from talking.results.open_data import method_in_words
from talking.results.schemas import PublicArea, PublicIssue
from talking.results.services import Publication, live_publication
from talking.web.times import london_time


@dataclass(frozen=True, slots=True)
class Published:
    """A live publication with what staff added to it."""

    publication: Publication
    quotes: list[Quote]  # only from districts shown
    updates: list[Update]
    issue_labels: dict[str, str]

    @property
    def base(self) -> str:
        """The county page's path."""
        return f"/results/{self.publication.survey_id}"

    def district(self, code: str) -> PublicArea | None:
        """A district of the figures, or None."""
        return next((d for d in self.publication.figures.districts if d.code == code), None)

    def area_names(self) -> dict[str | None, str]:
        """Update areas (None for the county) by name."""
        return {None: "Lancashire", **{d.code: d.name for d in districts_by_code().values()}}


async def load_published(conn: AsyncConnection, survey_id: int) -> Published | None:
    """The survey's live publication, quotes and updates; None when nothing is published."""
    publication = await live_publication(conn, survey_id)
    if publication is None:
        return None
    shown = {d.code for d in publication.figures.districts if not d.suppressed}
    quotes = [q for q in await quotes_of(conn, survey_id) if q.district_code in shown]
    return Published(publication, quotes, await updates_of(conn, survey_id), await issue_labels(conn, survey_id))


@dataclass(frozen=True, slots=True)
class IssueRow:
    """One issue in a results table, its figures as text, and what was done about it."""

    issue: PublicIssue
    rank_range: str
    score: str
    interval: str
    first_choice: str
    mentions: str
    county_score: str = ""
    versus: str = ""
    updates: list[Update] = field(default_factory=list)


VERSUS_WORDS = {"over": "Higher than the county", "under": "Lower than the county", "as county": "No clear difference"}


def issue_rows(area: PublicArea, updates: list[Update], county: PublicArea | None = None) -> list[IssueRow]:
    """Rows for an area's table, each with the updates about its issue."""
    county_scores = {i.code: i.score for i in county.issues} if county else {}
    return [
        IssueRow(
            issue=issue,
            rank_range=str(issue.rank_range[0])
            if issue.rank_range[0] == issue.rank_range[1]
            else f"{issue.rank_range[0]} to {issue.rank_range[1]}",
            score=f"{issue.score:.1f}",
            interval=f"{issue.score_ci[0]:.1f} to {issue.score_ci[1]:.1f}",
            first_choice=f"{issue.first_choice_share:.0%}",
            mentions=f"{issue.mention_share:.0%}",
            county_score=f"{county_scores[issue.code]:.1f}" if issue.code in county_scores else "",
            versus=VERSUS_WORDS.get(issue.versus_county or "", ""),
            updates=[u for u in updates if u.issue_code == issue.code],
        )
        for issue in area.issues
    ]


def page_context(published: Published) -> dict[str, object]:
    """What every results page of a publication shows: the stage, when, the method, the licence."""
    p = published.publication
    return {
        "pub": p,
        "figures": p.figures,
        "base": published.base,
        "published_on": london_time(p.published_at),
        "method": method_in_words(p.figures),
        "issue_labels": published.issue_labels,
    }


@dataclass(frozen=True, slots=True)
class ResultsMap:
    """The county page's map: the county's top issue, its priority score in each district."""

    caption: str
    values: dict[str, float]
    suppressed: dict[str, str]
    links: dict[str, str]


def results_map(published: Published) -> ResultsMap | None:
    """One issue on a sequential scale (reads in greyscale and for colour-blind readers), not each
    district's own top issue, which would need a colour per issue: see reports/issue_map.py."""
    figures = published.publication.figures
    if not figures.county.issues:
        return None
    top = figures.county.issues[0]
    values, suppressed, links = {}, {}, {}
    for district in figures.districts:
        if district.suppressed:
            suppressed[district.code] = f"fewer than {figures.min_cell} answers"
        elif district.responses:
            score = next((i.score for i in district.issues if i.code == top.code), None)
            if score is not None:
                values[district.code] = score
        if district.suppressed or district.responses:
            links[district.code] = f"{published.base}/{district.code}"
    return ResultsMap(
        f"{top.label}, the county's top issue: its priority score in each district", values, suppressed, links
    )


def county_context(published: Published) -> dict[str, object]:
    """The county page: its story, the table of figures, districts, quotes and updates."""
    figures = published.publication.figures
    county_updates = [u for u in published.updates if u.district_code is None]
    names = {d.code: d.name for d in figures.districts}
    return {
        **page_context(published),
        "story": story.top_story(figures.county.issues),
        "rows": issue_rows(figures.county, county_updates),
        "districts": [d for d in figures.districts if d.suppressed or d.responses],
        "quotes": [(q, names.get(q.district_code, "")) for q in published.quotes],
        "updates": county_updates,
        "map": results_map(published),
    }


def district_context(published: Published, district: PublicArea) -> dict[str, object]:
    """A district's page: its top issues against the county, or that it had too few answers."""
    figures = published.publication.figures
    updates = [u for u in published.updates if u.district_code in (None, district.code)]
    shown = not district.suppressed and bool(district.responses)
    return {
        **page_context(published),
        "district": district,
        "shown": shown,
        "story": story.top_story(district.issues, where=f" in {district.name}") if shown else [],
        "versus": story.against_county(district, figures.county) if shown else [],
        "rows": issue_rows(district, updates, figures.county) if shown else [],
        "quotes": [q for q in published.quotes if q.district_code == district.code] if shown else [],
        "county_top": figures.county.issues[0].label if figures.county.issues else None,
    }
