"""The analyst report pages and their downloads, through the real app, signed in through the real form.

Figures on the pages are checked against SQL counts of the stored rows, never against the code that
made them; a district with fewer than ten answers must show no figure and no quote anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, response_picks, responses, survey_issues
from talking.demo import synthetic_responses
from talking.questionnaires.schemas import SurveyCreate
from talking.questionnaires.services import create_survey, publish
from talking.reports import service
from talking.reports.crime_exports import CRIME_COLUMNS
from talking.reports.exports import ISSUE_COLUMNS
from talking.reports.html import render_report_html
from talking.surveys.writer import ResponseWriter

from ..conftest import DEMO_ISSUES, make_user, publish_survey
from .staff_helpers import Client, h1s, sign_in, text_of, title

ANALYST = "analyst@lancashire.test"
PRESTON, BURNLEY, HYNDBURN, PENDLE, WYRE = "E07000123", "E07000117", "E07000120", "E07000122", "E07000128"
WYRE_COMMENT = "Wyre comment that must never be quoted"
# Wyre (4) is suppressed and left out of the county figures, so that it cannot be worked out from them;
# Hyndburn, the next smallest, is shown all the same; Pendle is shown, as a small base (under 30).
ANSWERS = {PRESTON: 150, BURNLEY: 120, HYNDBURN: 20, PENDLE: 25, WYRE: 4}
TOTAL = sum(ANSWERS.values())
PUBLISHED = TOTAL - ANSWERS[WYRE]  # the county's base: the published districts' answers


async def store_answers(engine: AsyncEngine, survey_id: int, counts: dict[str, int], seed: int = 3) -> None:
    """Synthetic answers, so many per district; every third has a comment, Wyre's a telling one."""
    total = sum(counts.values())
    answers = synthetic_responses(list(DEMO_ISSUES), 5, total, seed, datetime.now(UTC))
    districts = [code for code, n in counts.items() for _ in range(n)]
    for i, (answer, district) in enumerate(zip(answers, districts, strict=True)):
        answer.survey_id = survey_id
        answer.district = district
        if district == WYRE:
            answer.comment = WYRE_COMMENT
        elif i % 3 == 0:
            answer.comment = "Speeding cars on the main road every night"
    writer = ResponseWriter(engine)
    await writer.store_now(answers)
    await writer.stop()


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def survey(engine: AsyncEngine) -> int:
    """A survey with answers from four districts, one of them too few to show."""
    survey_id = await publish_survey(engine)
    await store_answers(engine, survey_id, ANSWERS)
    return survey_id


@pytest.fixture
async def analyst(client: Client, engine: AsyncEngine) -> Client:
    """The client, signed in as an analyst."""
    await make_user(engine, ANALYST, "analyst")
    assert (await sign_in(client, ANALYST)).status_code == 303
    return client


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells (header cell included) in the table with this id."""
    found = re.search(rf'<table[^>]*id="{re.escape(table_id)}".*?</table>', html, re.S)
    assert found, f"no table {table_id}"
    body = re.search(r"<tbody.*?</tbody>", found.group(0), re.S).group(0)
    return [
        [
            " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        ]
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


async def first_choices(engine: AsyncEngine, survey_id: int, district: str) -> dict[str, int]:
    """Issue code -> first choices in the district, counted in SQL."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(response_picks.c.issue_code, func.count())
            .join(responses, responses.c.id == response_picks.c.response_id)
            .where(response_picks.c.survey_id == survey_id, responses.c.district_code == district)
            .where(response_picks.c.rank == 1)
            .group_by(response_picks.c.issue_code)
        )
        return dict(rows.all())


async def test_overview_shows_the_county_and_every_district_side_by_side(analyst: Client, survey: int) -> None:
    page = await analyst.get(f"/staff/surveys/{survey}/report")
    assert page.status_code == 200
    assert h1s(page.text) == ["Report"]
    assert title(page.text) == "Report - Lancashire Talking test survey - Lancashire Talking"
    text = text_of(page.text)
    assert f"Responses {TOTAL}" in text
    assert "Random seed 0" in text
    rows = table_rows(page.text, "heat-map")
    assert len(rows) == 14  # every district the survey covers, suppressed or not
    by_name = {row[0].removesuffix(" Small base"): row for row in rows}
    assert by_name["Preston"][1] == "150"
    assert len(by_name["Preston"]) == 2 + len(DEMO_ISSUES)
    assert all(re.fullmatch(r"\d+\.\d", cell) for cell in by_name["Preston"][2:])
    assert by_name["Wyre"][1:] == ["suppressed (fewer than 10 answers)"]
    assert by_name["Hyndburn"][1] == "20" and all(re.fullmatch(r"\d+\.\d", cell) for cell in by_name["Hyndburn"][2:])
    assert "They leave out Wyre, with 4 answers between it" in text
    assert by_name["Chorley"][1:] == ["0", "No answers"]
    assert by_name["Pendle"][0] == "Pendle Small base" and by_name["Pendle"][1] == "25"
    for code in ANSWERS:
        assert f'href="/staff/surveys/{survey}/report/districts/{code}"' in page.text
    for part in ("groups", "themes"):
        assert f'href="/staff/surveys/{survey}/report/{part}"' in page.text
    for fmt in ("csv", "xlsx", "json"):
        assert f'href="/staff/surveys/{survey}/report.{fmt}"' in page.text
    # The county tables, weighted beside unweighted; unweighted shares are "n of N (x%)".
    weighted, unweighted = table_rows(page.text, "county-weighted"), table_rows(page.text, "county-unweighted")
    assert len(weighted) == len(unweighted) == len(DEMO_ISSUES)
    assert all(re.fullmatch(rf"\d+ of {PUBLISHED} \(\d+\.\d%\)", row[5]) for row in unweighted)


async def test_a_district_page_shows_first_choices_as_counted_in_sql(
    analyst: Client, engine: AsyncEngine, survey: int
) -> None:
    page = await analyst.get(f"/staff/surveys/{survey}/report/districts/{PRESTON}")
    assert page.status_code == 200
    assert h1s(page.text) == ["Preston"]
    counted = await first_choices(engine, survey, PRESTON)
    rows = table_rows(page.text, f"{PRESTON}-unweighted")
    assert len(rows) == len(DEMO_ISSUES)
    async with engine.connect() as conn:
        query = select(survey_issues.c.label, survey_issues.c.code).where(survey_issues.c.survey_id == survey)
        names = dict((await conn.execute(query)).all())
    ranks = []
    for rank, label, _range, _score, _interval, first, *_rest in rows:
        assert first.startswith(f"{counted.get(names[label], 0)} of 150 ("), (label, first)
        ranks.append(int(rank))
    assert ranks == sorted(ranks)  # best first
    assert table_rows(page.text, f"{PRESTON}-weighted")
    text = text_of(page.text)
    assert "Effective sample size" in text and "Design effect" in text
    assert "Over the county:" in text and "Under the county:" in text
    assert "Plackett-Luce check" in text


async def test_a_district_chart_is_an_accessible_svg_with_issues_in_rank_order(analyst: Client, survey: int) -> None:
    html = (await analyst.get(f"/staff/surveys/{survey}/report/districts/{PRESTON}")).text
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and f'aria-labelledby="{PRESTON}-chart-title {PRESTON}-chart-desc"' in svg
    assert f'<title id="{PRESTON}-chart-title">' in svg and f'<desc id="{PRESTON}-chart-desc">' in svg
    assert "viewBox=" in svg and 'width="100%"' in svg
    labels = re.findall(r">(\d+)\. ([^<]+)</text>", svg)
    assert [int(n) for n, _ in labels] == sorted(int(n) for n, _ in labels)
    assert len(labels) == len(DEMO_ISSUES)
    # The page's CSP allows no inline style: nothing may rely on one.
    assert " style=" not in html and "<style" not in html


async def test_a_suppressed_district_shows_no_figure_or_quote_anywhere(analyst: Client, survey: int) -> None:
    base = f"/staff/surveys/{survey}/report"
    wyre = await analyst.get(f"{base}/districts/{WYRE}")
    assert wyre.status_code == 200
    text = text_of(wyre.text)
    assert "Wyre: suppressed (fewer than 10 answers)" in text
    shown = re.search(r"<h1.*</main>", wyre.text, re.S).group(0)  # below the survey's name and wave
    assert "<table" not in shown and "<svg" not in shown
    assert not re.search(r"\d", text_of(shown).replace("10 answers", "")), "a figure on a suppressed district's page"
    assert "its answers are left out of the county figures" in text
    hyndburn = text_of((await analyst.get(f"{base}/districts/{HYNDBURN}")).text)
    assert "Answers 20 Small base under 30: read with care" in hyndburn  # not hidden for Wyre's sake
    pendle = text_of((await analyst.get(f"{base}/districts/{PENDLE}")).text)
    assert "Answers 25 Small base under 30: read with care" in pendle
    pages = {part: (await analyst.get(base + part)).text for part in ("", "/groups", "/themes")}
    for part, html in pages.items():
        assert WYRE_COMMENT not in html, part
    groups = pages["/groups"]
    district_rows = table_rows(groups, "group-districts")
    by_name = {row[0]: row[1:] for row in district_rows}
    assert set(by_name["Wyre"]) == {"suppressed"}
    # opinion groups x districts is a cross-table: each group's column covers Wyre with a second hidden cell
    columns = list(zip(*by_name.values(), strict=True))
    assert all(column.count("suppressed") >= 2 for column in columns)
    assert "Speeding cars on the main road every night" in pages["/themes"]


async def test_groups_and_themes_pages(analyst: Client, survey: int) -> None:
    groups = await analyst.get(f"/staff/surveys/{survey}/report/groups")
    assert groups.status_code == 200 and h1s(groups.text) == ["Groups"]
    text = text_of(groups.text)
    assert "Groups of districts" in text and "silhouette" in text
    assert "Groups of residents" in text and "Group 1:" in text
    assert groups.text.count('role="img"') >= 1  # a profile chart per opinion group
    themes = await analyst.get(f"/staff/surveys/{survey}/report/themes")
    assert themes.status_code == 200 and h1s(themes.text) == ["Themes and changes"]
    text = text_of(themes.text)
    assert "Theme 1:" in text and "comments" in text
    assert "There is no previous wave of this survey to compare with." in text


async def test_themes_page_shows_changes_since_the_previous_wave(
    analyst: Client, engine: AsyncEngine, survey: int
) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        later = await create_survey(
            conn,
            SurveyCreate(
                title="Lancashire Talking test survey, wave 2",
                issues=DEMO_ISSUES,
                max_picks=5,
                opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=30),
            ),
            wave=2,
            previous_wave_id=survey,
        )
        await publish(conn, later)
    await store_answers(engine, later, {PRESTON: 120, BURNLEY: 110}, seed=8)
    page = await analyst.get(f"/staff/surveys/{later}/report/themes")
    assert page.status_code == 200
    rows = table_rows(page.text, "wave-county")
    assert len(rows) == len(DEMO_ISSUES)
    assert {row[-1] for row in rows} <= {"Rose", "Fell", "No clear change"}
    assert all(re.fullmatch(r"[+\u2212]\d+\.\d", row[3]) for row in rows)


@pytest.mark.parametrize(
    "path",
    [
        "/staff/surveys/987654/report",
        "/staff/surveys/987654/report/groups",
        "/staff/surveys/{id}/report/districts/E99999999",
    ],
)
async def test_unknown_surveys_and_districts_are_not_found(analyst: Client, survey: int, path: str) -> None:
    page = await analyst.get(path.format(id=survey))
    assert page.status_code == 404
    assert h1s(page.text) == ["Page not found"]


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("csv", "text/csv; charset=utf-8"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("json", "application/json"),
    ],
)
async def test_downloads_are_files_and_audited(
    analyst: Client, engine: AsyncEngine, survey: int, fmt: str, media_type: str
) -> None:
    answer = await analyst.get(f"/staff/surveys/{survey}/report.{fmt}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == media_type
    assert (
        answer.headers["content-disposition"] == f'attachment; filename="talking-survey-{survey}-wave-1-report.{fmt}"'
    )
    if fmt == "csv":
        assert list(csv.DictReader(io.StringIO(answer.text)).fieldnames) == ISSUE_COLUMNS + CRIME_COLUMNS
    elif fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
            assert 'name="Priority scores"' in book.read("xl/workbook.xml").decode()
    else:
        assert json.loads(answer.content)["survey"]["id"] == survey
    async with engine.connect() as conn:
        events = (
            await conn.execute(
                select(
                    audit_events.c.action, audit_events.c.actor_email, audit_events.c.target_id, audit_events.c.detail
                ).where(audit_events.c.action == "report_exported")
            )
        ).all()
    assert [(a, e, t, json.loads(d)) for a, e, t, d in events] == [
        ("report_exported", ANALYST, str(survey), {"format": fmt, "responses": TOTAL})
    ]


async def test_the_staff_survey_page_links_to_its_report_once_it_has_answers(
    analyst: Client, engine: AsyncEngine, survey: int
) -> None:
    report_link = f'href="/staff/surveys/{survey}/report"'
    assert report_link in (await analyst.get(f"/staff/surveys/{survey}")).text
    empty = await publish_survey(engine, title="No answers yet")
    assert f'href="/staff/surveys/{empty}/report"' not in (await analyst.get(f"/staff/surveys/{empty}")).text


async def test_the_standalone_html_file_holds_every_part_and_asks_for_nothing(engine: AsyncEngine, survey: int) -> None:
    async with engine.connect() as conn:
        built = await conn.run_sync(service.build, survey)
    html = render_report_html(built)
    assert html.startswith("<!DOCTYPE html>")
    for anchor in ("overview", "how", "groups", "themes", *(f"district-{code}" for code in ANSWERS)):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    assert len(re.findall(r'<section id="district-', html)) == 14
    # Self-contained: the stylesheet inline, no script, nothing fetched from anywhere.
    assert "<style>" in html and ".govuk-table" in html
    assert "<script" not in html and "<link" not in html and " src=" not in html
    assert not re.search(r"url\((?!\"?data:|#)", html)  # url(#...): the map's patterns, in the same file
    assert not re.search(r'(href|src)="(https?:)?//', html)
    assert WYRE_COMMENT not in html
    assert "Wyre: suppressed (fewer than 10 answers)" in text_of(html)
    preston = re.search(r'<section id="district-E07000123".*?</section>', html, re.S).group(0)
    assert table_rows(preston, f"{PRESTON}-unweighted")
