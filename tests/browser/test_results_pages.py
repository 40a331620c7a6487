"""Public results and their staff pages in Debian's Chromium: axe-core (WCAG 2.2 AA) on /results, a
survey's results, a district, a suppressed district, and the staff results and quotes pages, on a
phone without JavaScript and on a desktop with it.

One `talking serve` for the module, on a fresh SQLite file: a survey with answers from five districts
(Wyre too few to show), its interim results published, a quote approved and two updates added.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import select

from talking.auth.services import create_user
from talking.db.engine import create_engine
from talking.db.models import responses
from talking.reports.service import ReportCache
from talking.results import moderation, services
from talking.testing.surveys import publish_survey

from ..integration.test_report_pages import ANSWERS, PRESTON, WYRE, store_answers
from .conftest import assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

STAFF = "staff@lancashire.test"
PASSWORD = "correct horse battery staple"
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}


@dataclass
class ResultsSite:
    url: str
    survey: int


async def _seed(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await create_user(conn, STAFF, "staff", PASSWORD)
        survey_id = await publish_survey(engine, title="Community safety 2026")
        await store_answers(engine, survey_id, ANSWERS)
        built = await ReportCache(engine).get(survey_id)
        async with engine.begin() as conn:
            await services.publish(conn, built, actor=None, ip=None)
            first = (
                await conn.execute(
                    select(responses.c.id).where(responses.c.district_code == PRESTON, responses.c.comment.is_not(None))
                )
            ).first()[0]
            await moderation.approve_quote(
                conn, survey_id, first, "Speeding cars on the main road", set(), actor=None, ip=None
            )
            for area, issue in ((PRESTON, "anti-social-behaviour"), ("county", "burglary")):
                form = moderation.UpdateForm(
                    area, issue, "Extra patrols at night", "Lancashire Constabulary", "1", "11", "2026"
                )
                await moderation.add_update(conn, survey_id, form, actor=None, ip=None)
        return survey_id
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResultsSite]:
    workdir = tmp_path_factory.mktemp("results-site")
    with site_on(sqlite_template, workdir, _seed) as (url, survey_id):
        yield ResultsSite(url, survey_id)


def _strip_scripts(route: Route) -> None:
    """Serve pages without their scripts, as a browser with JavaScript off builds them (axe still runs)."""
    response = route.fetch(max_redirects=0)
    if "text/html" not in response.headers.get("content-type", ""):
        route.fulfill(response=response)
        return
    route.fulfill(response=response, body=re.sub(r"<script\b.*?</script>", "", response.text(), flags=re.S))


def context_for(
    browser: Browser, site: ResultsSite, *, javascript: bool, staff: bool, **options: object
) -> BrowserContext:
    context = browser.new_context(bypass_csp=True, **options)
    if not javascript:
        context.route(re.compile(re.escape(site.url) + r"/(?!assets/).*"), _strip_scripts)
    if staff:
        page = context.new_page()
        page.goto(f"{site.url}/sign-in?next=/staff")
        page.get_by_label("Email address").fill(STAFF)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{site.url}/staff")
        page.close()
    return context


def public_pages(site: ResultsSite) -> list[tuple[str, str, str]]:
    base = f"/results/{site.survey}"
    return [
        ("list", "/results", "Results: you said, we did"),
        ("county", base, "Community safety 2026"),
        ("district", f"{base}/{PRESTON}", "Preston"),
        ("suppressed-district", f"{base}/{WYRE}", "Wyre"),
    ]


def staff_pages(site: ResultsSite) -> list[tuple[str, str, str]]:
    base = f"/staff/surveys/{site.survey}/results"
    return [("staff-results", base, "Public results"), ("staff-quotes", f"{base}/quotes", "Quotes from comments")]


def check(page: Page, site: ResultsSite, label: str, path: str, heading: str) -> None:
    page.goto(site.url + path)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(heading)
    assert_accessible(page, label)


@pytest.mark.parametrize("staff", [False, True], ids=["public", "staff"])
def test_results_pages_pass_axe_on_a_phone_without_javascript(browser: Browser, site: ResultsSite, staff: bool) -> None:
    context = context_for(browser, site, javascript=False, staff=staff, **PHONE)
    page = context.new_page()
    try:
        for label, path, heading in staff_pages(site) if staff else public_pages(site):
            check(page, site, label, path, heading)
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{label} scrolls sideways on a phone: {widths}"
            screenshot(page, f"results-phone-{label}")
    finally:
        context.close()


def test_results_pages_pass_axe_on_a_desktop(browser: Browser, site: ResultsSite) -> None:
    context = context_for(browser, site, javascript=True, staff=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        for label, path, heading in [*public_pages(site), *staff_pages(site)]:
            check(page, site, label, path, heading)
            screenshot(page, f"results-desktop-{label}")
        page.goto(f"{site.url}/results/{site.survey}")
        expect(page.locator(".govuk-warning-text")).to_contain_text("Interim results")
        page.get_by_role("link", name="Preston").first.click()
        expect(page.locator("h1")).to_have_text("Preston")
        expect(page.get_by_text("Extra patrols at night").first).to_be_visible()
    finally:
        context.close()
