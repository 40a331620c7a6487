"""The map on the analyst overview, through the real app on SQLite and PostgreSQL, signed in through the form.

The map's figures are checked against the heat map's table on the same page (itself checked against
SQL counts in test_report_pages.py), its SVG parsed as XML; bad picks of the issue get an error
summary, never a 500, and suppressed districts never show a figure.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.reports import service
from talking.reports.html import render_report_html

from ..conftest import make_user, publish_survey
from .staff_helpers import Client, error_summary, sign_in, text_of
from .test_report_pages import ANSWERS, HYNDBURN, PENDLE, PRESTON, WYRE, store_answers, table_rows

ANALYST = "analyst@lancashire.test"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def survey(engine: AsyncEngine) -> int:
    """A survey with answers from five districts: Wyre too few to show (and only Wyre hidden for it)."""
    survey_id = await publish_survey(engine)
    await store_answers(engine, survey_id, ANSWERS)
    return survey_id


@pytest.fixture
async def analyst(client: Client, engine: AsyncEngine) -> Client:
    """The client, signed in as an analyst."""
    await make_user(engine, ANALYST, "analyst")
    assert (await sign_in(client, ANALYST)).status_code == 303
    return client


def the_map(html: str) -> ET.Element:
    """The map's <svg>, parsed as XML (so it must be well-formed)."""
    found = re.search(r'<svg[^>]*id="issue-map".*?</svg>', html, re.S)
    assert found, "no map on the page"
    return ET.fromstring(found.group(0))


def links_of(svg: ET.Element) -> dict[str, str]:
    """Each district link's href -> its accessible name."""
    return {a.get("href"): a.get("aria-label") for a in svg.iter(f"{SVG}a")}


def heat_column(html: str, column: int) -> dict[str, str]:
    """District name -> its heat-map cell for the issue in this column (0 is the county's top issue)."""
    found = {}
    for name, *cells in table_rows(html, "heat-map"):
        # a suppressed row is one cell of words; a row with no answers "0" then "No answers"
        found[name.removesuffix(" Small base")] = cells[-1] if len(cells) <= 2 else cells[1 + column]
    return found


def selected_issue(html: str) -> tuple[str, str]:
    """The (code, label) selected in the map's issue list."""
    select = re.search(r'<select[^>]*id="issue".*?</select>', html, re.S).group(0)
    code, label = re.search(r'<option value="([^"]+)" selected>([^<]+)</option>', select).groups()
    return code, unescape(label)


async def test_the_overview_maps_the_county_top_issue_in_every_district(analyst: Client, survey: int) -> None:
    page = await analyst.get(f"/staff/surveys/{survey}/report")
    assert page.status_code == 200
    svg = the_map(page.text)
    shapes = list(svg.iter(f"{SVG}path"))
    assert len(shapes) == 14
    links = links_of(svg)
    base = f"/staff/surveys/{survey}/report/districts/"
    assert len(links) == 14 and all(href.startswith(base) for href in links)
    heat = heat_column(page.text, 0)
    names = {href.removeprefix(base): label.split(":")[0] for href, label in links.items()}
    assert names[PRESTON] == "Preston" and names[WYRE] == "Wyre"
    # The map's figures are the heat map's, for the issue the list has selected (the county's top issue).
    _code, label = selected_issue(page.text)
    assert f"{label}: priority score in each district, weighted" in text_of(page.text)
    for href, name in links.items():
        district = name.split(":")[0]
        if district == "Wyre":
            assert "suppressed" in name and not re.search(r"\d\.\d", name), name
        elif heat[district] == "No answers":
            assert name == f"{district}: no answers"
        elif district in ("Pendle", "Hyndburn"):  # small bases, under 30 answers
            assert name == f"{district}: {heat[district]}, out of 100 (small base, under 30: read with care)", name
        else:
            assert name == f"{district}: {heat[district]}, out of 100", (href, name)
    # The table beside the map says the same, and the suppressed districts only as suppressed.
    rows = {row[0]: row[1:] for row in table_rows(page.text, "issue-map-table")}
    assert len(rows) == 14
    assert rows["Preston"][0] == heat["Preston"]
    assert rows["Wyre"] == ["Suppressed (fewer than 10 answers)", "Hatched: suppressed"]
    assert rows["Hyndburn"][0] == f"{heat['Hyndburn']} Small base, under 30: read with care"
    assert rows["Chorley"] == ["No answers", "Dotted: no answers"]
    assert rows["Pendle"][0] == f"{heat['Pendle']} Small base, under 30: read with care"
    assert f"/districts/{PENDLE}" in page.text
    title = svg.find(f"{SVG}title").text
    assert (
        title == f"{label}: priority score in each district, weighted"
        and svg.get("aria-labelledby") == "issue-map-title"
    )
    text = text_of(page.text)
    assert "Contains OS data © Crown copyright and database right 2022" in text
    assert "Hatched: suppressed (too few answers to show)" in text
    assert " style=" not in page.text  # the CSP allows no inline style


async def test_picking_an_issue_maps_that_issue(analyst: Client, survey: int) -> None:
    overview = (await analyst.get(f"/staff/surveys/{survey}/report")).text
    heat_issues = re.findall(r'<th scope="col" class="govuk-table__header">([^<]+)</th>', overview)
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', overview)
    assert [unescape(label) for _code, label in options] == [unescape(i) for i in heat_issues[-len(options) :]]
    column = 3
    code, label = options[column]
    page = await analyst.get(f"/staff/surveys/{survey}/report", params={"issue": code})
    assert page.status_code == 200
    assert selected_issue(page.text) == (code, unescape(label))
    heat = heat_column(page.text, column)
    names = links_of(the_map(page.text))
    assert names[f"/staff/surveys/{survey}/report/districts/{PRESTON}"] == f"Preston: {heat['Preston']}, out of 100"
    assert f"{unescape(label)}: priority score in each district, weighted" in text_of(page.text)


@pytest.mark.parametrize(
    "value",
    ["no-such-issue", "", "\x00", "é" * 3000, "<script>alert(1)</script>", "anti-social-behaviour "],
)
async def test_an_unknown_issue_gets_an_error_summary_and_the_default_map(
    analyst: Client, survey: int, value: str
) -> None:
    page = await analyst.get(f"/staff/surveys/{survey}/report", params={"issue": value})
    assert page.status_code == 422
    assert error_summary(page.text) == [("#issue", "Choose an issue from the list")]
    assert "Error: Choose an issue from the list" in text_of(page.text)
    assert len(links_of(the_map(page.text))) == 14  # the county's top issue, as with no pick
    assert "<script>alert" not in page.text


async def test_many_picks_at_once_all_get_an_answer(analyst: Client, survey: int) -> None:
    """Concurrent requests for every issue (and some nonsense) while the report is built once."""
    overview = (await analyst.get(f"/staff/surveys/{survey}/report")).text
    codes = [*re.findall(r'<option value="([^"]+)"', overview), "nope", ""]
    answers = await asyncio.gather(
        *(analyst.get(f"/staff/surveys/{survey}/report", params={"issue": codes[i % len(codes)]}) for i in range(40))
    )
    for i, answer in enumerate(answers):
        expected = 422 if codes[i % len(codes)] in ("nope", "") else 200
        assert answer.status_code == expected, (codes[i % len(codes)], answer.status_code)
        assert len(links_of(the_map(answer.text))) == 14


async def test_the_one_file_report_has_the_map_linked_to_its_own_sections(engine: AsyncEngine, survey: int) -> None:
    async with engine.connect() as conn:
        built = await conn.run_sync(service.build, survey)
    html = render_report_html(built)
    svg = the_map(html)
    links = links_of(svg)
    assert len(links) == 14 and all(href.startswith("#district-") for href in links)
    assert f"#district-{HYNDBURN}" in links
    assert '<select id="issue"' not in html and 'name="issue"' not in html  # the file cannot ask the server
    assert "Contains OS data" in html
