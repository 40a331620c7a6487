"""The recorded-crime pages in Debian's Chromium with axe-core (WCAG 2.2 AA): the upload page (empty,
with an error, after an import, its report) and the report's Recorded crime page, on a phone without
JavaScript and on a desktop, a real police.uk file uploaded through the real form.

One `talking serve` for the module, on a fresh SQLite file with an analyst and a survey with answers
from eight districts (Wyre too few to show).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from talking.auth.services import create_user
from talking.db.engine import create_engine
from talking.demo import synthetic_responses
from talking.questionnaires.schemas import SurveyCreate
from talking.questionnaires.services import create_survey, publish
from talking.surveys.writer import ResponseWriter

from .conftest import assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

ANALYST = "analyst@lancashire.test"
PASSWORD = "correct horse battery staple"
SLICE = Path(__file__).parents[1] / "fixtures" / "police_uk" / "2022-10-lancashire-street-every-10th.csv"
ISSUES = ("anti-social-behaviour", "burglary", "road-safety", "violent-crime", "fraud", "vehicle-crime")
ANSWERS = {
    "E06000008": 60,
    "E06000009": 60,
    "E07000117": 50,
    "E07000118": 50,
    "E07000121": 50,
    "E07000123": 70,
    "E07000125": 40,
    "E07000128": 4,
}
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}


@dataclass
class CrimeSite:
    url: str
    survey: int


async def _seed(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await create_user(conn, ANALYST, "analyst", PASSWORD)
            now = datetime.now(UTC)
            data = SurveyCreate(
                title="Community safety 2026",
                issues=ISSUES,
                opens_at=now - timedelta(days=2),
                closes_at=now + timedelta(days=30),
            )
            survey_id = await create_survey(conn, data)
            await publish(conn, survey_id)
        answers = synthetic_responses(list(ISSUES), 5, sum(ANSWERS.values()), 8, datetime.now(UTC))
        places = [code for code, n in ANSWERS.items() for _ in range(n)]
        for answer, district in zip(answers, places, strict=True):
            answer.survey_id, answer.district = survey_id, district
        writer = ResponseWriter(engine)
        await writer.store_now(answers)
        await writer.stop()
        return survey_id
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrimeSite]:
    workdir = tmp_path_factory.mktemp("crime-site")
    with site_on(sqlite_template, workdir, _seed) as (url, survey_id):
        yield CrimeSite(url, survey_id)


def _strip_scripts(route: Route) -> None:
    """Serve pages without their scripts, as a browser with JavaScript off builds them."""
    if route.request.method != "GET":
        # Chromium does not hand a file upload's body to interception whole: let posts go as sent.
        route.continue_()
        return
    response = route.fetch(max_redirects=0)
    if "text/html" not in response.headers.get("content-type", ""):
        route.fulfill(response=response)
        return
    route.fulfill(response=response, body=re.sub(r"<script\b.*?</script>", "", response.text(), flags=re.S))


def signed_in(browser: Browser, site: CrimeSite, *, javascript: bool, **options: object) -> BrowserContext:
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


def fits(page: Page, label: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{label} scrolls sideways on a phone: {widths}"


def test_upload_and_crime_report_pages_pass_axe_on_a_phone_without_javascript(
    browser: Browser, site: CrimeSite, tmp_path: Path
) -> None:
    context = signed_in(browser, site, javascript=False, **PHONE)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/staff/surveys/{site.survey}/report/crime")
        expect(page.locator("h1")).to_have_text("Recorded crime beside concern")
        expect(page.get_by_text("No recorded crime has been imported yet")).to_be_visible()
        assert_accessible(page, "crime report, nothing imported")

        page.goto(f"{site.url}/staff/crime")
        expect(page.locator("h1")).to_have_text("Recorded crime")
        assert_accessible(page, "crime upload page")
        fits(page, "crime upload page")
        screenshot(page, "crime-phone-upload")

        bad = tmp_path / "not-police.csv"
        bad.write_text("email,postcode\nann@example.org,PR1 2HE\n")
        page.get_by_label("Upload a police.uk CSV file").set_input_files(str(bad))
        page.get_by_role("button", name="Upload and import").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("must name police.uk's columns")
        assert page.title().startswith("Error: ")
        assert_accessible(page, "crime upload page with an error")
        screenshot(page, "crime-phone-upload-error")

        page.get_by_label("Upload a police.uk CSV file").set_input_files(str(SLICE))
        page.get_by_role("button", name="Upload and import").click()
        page.wait_for_url(f"{site.url}/staff/crime/report")
        expect(page.locator("h1")).to_have_text("Crime file imported")
        expect(page.get_by_role("row", name=re.compile("Stored in the 14 areas 1,519"))).to_be_visible()
        assert_accessible(page, "crime import report")
        fits(page, "crime import report")
        screenshot(page, "crime-phone-import-report")

        page.goto(f"{site.url}/staff/crime")
        assert_accessible(page, "crime upload page with its log")

        page.goto(f"{site.url}/staff/surveys/{site.survey}/report/crime")
        expect(page.get_by_role("img", name=re.compile("Burglary: concern's rank"))).to_be_visible()
        assert_accessible(page, "crime report page")
        fits(page, "crime report page")
        screenshot(page, "crime-phone-report")

        page.goto(f"{site.url}/staff/surveys/{site.survey}/report/crime?crime_from=soon")
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the month as YYYY-MM")
        assert_accessible(page, "crime report page with an error")
    finally:
        context.close()


def test_the_crime_report_page_passes_axe_on_a_desktop(browser: Browser, site: CrimeSite) -> None:
    context = signed_in(browser, site, javascript=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        # The month again (it replaces itself), so this test stands alone.
        page.goto(f"{site.url}/staff/crime")
        page.get_by_label("Upload a police.uk CSV file").set_input_files(str(SLICE))
        page.get_by_role("button", name="Upload and import").click()
        expect(page.locator("h1")).to_have_text("Crime file imported")
        page.goto(f"{site.url}/staff/surveys/{site.survey}/report")
        page.get_by_role("link", name="Recorded crime").last.click()
        expect(page.locator("h1")).to_have_text("Recorded crime beside concern")
        assert_accessible(page, "crime report page on a desktop")
        screenshot(page, "crime-desktop-report")
        page.get_by_label("First month").select_option("2022-10")
        page.get_by_role("button", name="Show these months").click()
        expect(page).to_have_url(re.compile(r"crime_from=2022-10"))
        expect(page.locator("h1")).to_have_text("Recorded crime beside concern")
    finally:
        context.close()
