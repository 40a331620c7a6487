"""The published figures as open data: CSV and JSON under the Open Government Licence v3.0.

Only what the public pages show: the county's and each district's issues with their ranks,
rank ranges, scores and shares; suppressed districts as rows saying so, with no figures; the
quotes staff approved (redacted) in the JSON. No comment, email, postcode or answer of anyone.
"""

from __future__ import annotations

import csv
import io

import msgspec

from talking.results.moderation import Quote
from talking.results.schemas import PublicArea, PublicFigures

LICENCE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
LICENCE = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    f"({LICENCE_URL}). You may copy, publish, adapt and use these figures, for any purpose, if you "
    "acknowledge the source: Lancashire Talking, Lancashire's community safety partnerships."
)
CSV_COLUMNS = (
    "area_type", "area_code", "area_name", "responses", "suppressed", "issue_code", "issue_label", "rank",
    "rank_best", "rank_worst", "priority_score", "score_low", "score_high", "first_choice_share", "mention_share",
    "versus_county",
)  # fmt: skip


def method_in_words(figures: PublicFigures) -> str:
    """How the figures were made, for residents and re-users alike."""
    return (
        "Residents chose the issues that matter most where they live, in order of importance. Each issue's priority "
        "score (0 to 100) gives its first choice the most points and counts an issue not chosen as 0; "
        "issues are ranked by score. The rank range is the set of ranks each issue could truly hold, allowing "
        "for chance in who answered (a 95% simultaneous confidence set): where two issues' ranges overlap, the "
        "answers cannot separate them. The county's figures are "
        f"{figures.weighting}. District figures are from the district's own answers, compared with the county "
        "by a test that allows for chance across all issues. "
        f"Districts with fewer than {figures.min_cell} answers are not published, and where only one district "
        "would be hidden, the next smallest is hidden too, so no hidden figure can be worked out from the others. "
        f"These are {figures.stage} results ({figures.responses:,} answers); method version {figures.method_version}."
    )


def figures_csv(figures: PublicFigures) -> bytes:
    """One row per area and issue; a suppressed district is one row with no figures."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for area_type, area in [("county", figures.county), *(("district", d) for d in figures.districts)]:
        writer.writerows(_rows(area_type, area))
    return out.getvalue().encode("utf-8")


def _rows(area_type: str, area: PublicArea) -> list[list[object]]:
    head = [area_type, area.code, area.name, "" if area.responses is None else area.responses, area.suppressed]
    if not area.issues:
        return [[*head, *[""] * (len(CSV_COLUMNS) - len(head))]]
    return [
        [
            *head,
            issue.code,
            issue.label,
            issue.rank,
            issue.rank_range[0],
            issue.rank_range[1],
            issue.score,
            issue.score_ci[0],
            issue.score_ci[1],
            issue.first_choice_share,
            issue.mention_share,
            issue.versus_county or "",
        ]
        for issue in area.issues
    ]


def figures_json(figures: PublicFigures, quotes: list[Quote]) -> bytes:
    """The figures, the licence, the method in words and the approved quotes, as one JSON document."""
    shown = {d.code for d in figures.districts if not d.suppressed}
    document = {
        "licence": {"name": "Open Government Licence v3.0", "url": LICENCE_URL, "statement": LICENCE},
        "method": method_in_words(figures),
        "figures": figures,
        "quotes": [{"district": q.district_code, "text": q.text} for q in quotes if q.district_code in shown],
    }
    return msgspec.json.encode(document)
