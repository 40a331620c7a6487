"""The analyst report pages in Debian's Chromium: axe-core (WCAG 2.2 AA) on the overview, a district, a
suppressed district, the groups and the themes, on a phone without JavaScript and on a desktop with it;
and the standalone HTML file, opened from disk, asking for nothing.

One `talking serve` for the module, on a fresh SQLite file with an analyst, a survey with answers from
ten districts (Wyre too few to show, West Lancashire a small base) and its second wave.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from talking.auth.services import create_user
from talking.db.engine import create_engine
from talking.demo import synthetic_responses
from talking.questionnaires.schemas import SurveyCreate
from talking.questionnaires.services import create_survey, publish
from talking.reports import service
from talking.reports.html import render_report_html
from talking.surveys.writer import ResponseWriter

from .conftest import assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

ANALYST = "analyst@lancashire.test"
PASSWORD = "correct horse battery staple"
ISSUES = (
    "anti-social-behaviour",
    "drug-dealing-and-taking",
    "speeding",
    "road-safety",
    "burglary",
    "fly-tipping-and-litter",
    "fraud",
    "violent-crime",
)
PRESTON, WYRE = "E07000123", "E07000128"
ANSWERS = {
    "E06000008": 150,
    "E06000009": 140,
    "E07000117": 90,
    "E07000118": 110,
    "E07000120": 60,
    PRESTON: 160,
    "E07000125": 70,
    "E07000126": 20,  # hidden so that Wyre cannot be worked out from the county total
    "E07000127": 25,  # a small base: shown, flagged
    WYRE: 4,  # suppressed
}
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}


@dataclass
class ReportSite:
    """A running server, its database, and the two waves' survey ids."""

    url: str
    database_url: str
    first: int
    second: int


async def _wave(engine, title: str, counts: dict[str, int], seed: int, previous: int | None = None) -> int:
    """Publish a wave and store synthetic answers (about a fifth with comments) by district."""
    now = datetime.now(UTC)
    data = SurveyCreate(
        title=title, issues=ISSUES, opens_at=now - timedelta(days=2), closes_at=now + timedelta(days=30)
    )
    async with engine.begin() as conn:
        survey_id = await create_survey(conn, data, wave=2 if previous else 1, previous_wave_id=previous)
        await publish(conn, survey_id)
    answers = synthetic_responses(list(ISSUES), 5, sum(counts.values()), seed, now)
    districts = [code for code, n in counts.items() for _ in range(n)]
    for answer, district in zip(answers, districts, strict=True):
        answer.survey_id, answer.district = survey_id, district
    writer = ResponseWriter(engine)
    await writer.store_now(answers)
    await writer.stop()
    return survey_id


async def _seed(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await create_user(conn, ANALYST, "analyst", PASSWORD)
        first = await _wave(engine, "Community safety 2026", ANSWERS, seed=4)
        second = await _wave(engine, "Community safety 2027", ANSWERS, seed=5, previous=first)
        return first, second
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportSite]:
    """`talking serve` on a fresh database with two waves of answers, for this module."""
    workdir = tmp_path_factory.mktemp("report-site")
    with site_on(sqlite_template, workdir, _seed) as (url, (first, second)):
        yield ReportSite(url, f"sqlite+aiosqlite:///{workdir / 'talking.db'}", first, second)


def _strip_scripts(route: Route) -> None:
    """Serve pages without their scripts, as a browser with JavaScript off builds them (axe still runs)."""
    response = route.fetch(max_redirects=0)
    if "text/html" not in response.headers.get("content-type", ""):
        route.fulfill(response=response)
        return
    route.fulfill(response=response, body=re.sub(r"<script\b.*?</script>", "", response.text(), flags=re.S))


def signed_in(browser: Browser, site: ReportSite, *, javascript: bool, **options: object) -> BrowserContext:
    """A context signed in as the analyst through the form."""
    context = browser.new_context(bypass_csp=True, **options)
    if not javascript:
        context.route(re.compile(re.escape(site.url) + r"/(?!assets/).*"), _strip_scripts)
    page = context.new_page()
    page.goto(f"{site.url}/sign-in?next=/staff")
    page.get_by_label("Email address").fill(ANALYST)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/staff")
    page.close()
    return context


def report_pages(site: ReportSite) -> list[tuple[str, str, str]]:
    """(label, path, heading) for every kind of report page."""
    first = f"/staff/surveys/{site.first}/report"
    second = f"/staff/surveys/{site.second}/report"
    return [
        ("overview", first, "Report"),
        ("district", f"{first}/districts/{PRESTON}", "Preston"),
        ("suppressed-district", f"{first}/districts/{WYRE}", "Wyre"),
        ("groups", f"{first}/groups", "Groups"),
        ("themes", f"{first}/themes", "Themes and changes"),
        ("themes-with-waves", f"{second}/themes", "Themes and changes"),
    ]


def check(page: Page, site: ReportSite, label: str, path: str, heading: str) -> None:
    """Open a report page: one <h1>, a title that names it, and no axe violations."""
    page.goto(site.url + path)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(heading)
    assert page.title().endswith(" - Lancashire Talking")
    assert_accessible(page, label)


def test_report_pages_pass_axe_on_a_phone_without_javascript(browser: Browser, site: ReportSite) -> None:
    context = signed_in(browser, site, javascript=False, **PHONE)
    page = context.new_page()
    try:
        for label, path, heading in report_pages(site):
            check(page, site, label, path, heading)
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{label} scrolls sideways on a phone: {widths}"
            screenshot(page, f"report-phone-{label}")
        # Wide tables scroll inside their own box, which a keyboard can reach.
        page.goto(f"{site.url}/staff/surveys/{site.first}/report")
        heat = page.locator("div[role=region]:has(#heat-map)")
        assert heat.evaluate("box => box.scrollWidth > box.clientWidth")
        heat.focus()
        expect(heat).to_be_focused()
    finally:
        context.close()


def test_report_pages_pass_axe_on_a_desktop(browser: Browser, site: ReportSite) -> None:
    context = signed_in(browser, site, javascript=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        for label, path, heading in report_pages(site):
            check(page, site, label, path, heading)
            screenshot(page, f"report-desktop-{label}")
        page.goto(f"{site.url}/staff/surveys/{site.first}/report")
        expect(page.get_by_role("img", name=re.compile("Priority scores in the county"))).to_be_visible()
        page.get_by_role("link", name="Preston").first.click()
        expect(page.locator("h1")).to_have_text("Preston")
        expect(page.get_by_role("img", name=re.compile("Priority scores in Preston"))).to_be_visible()
    finally:
        context.close()


def test_the_standalone_file_passes_axe_and_asks_for_nothing(
    browser: Browser, site: ReportSite, tmp_path: Path
) -> None:
    # Playwright's sync API keeps an event loop running in this thread: read with a plain engine.
    engine = sqlalchemy.create_engine(site.database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as conn:
            built = service.build(conn, site.second)
    finally:
        engine.dispose()
    path = tmp_path / "report.html"
    path.write_text(render_report_html(built), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(path.as_uri())
        expect(page.locator("h1")).to_have_text("Report: Community safety 2027")
        assert requested == [path.as_uri()], requested
        assert_accessible(page, "standalone report")
        screenshot(page, "report-standalone")
    finally:
        context.close()
