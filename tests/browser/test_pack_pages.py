"""Packs in Debian's Chromium: axe-core (WCAG 2.2 AA) on the packs list (staff, phone, no JavaScript) and on
a pack's HTML, served by the app and opened from disk; the freeze button works without JavaScript.

One `talking serve` for the module on a fresh SQLite file with a member of staff and a survey with answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

from talking.auth.services import create_user
from talking.db.engine import create_engine
from talking.demo import synthetic_responses
from talking.surveys.writer import ResponseWriter
from talking.testing.surveys import DEMO_ISSUES, publish_survey

from .conftest import assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

STAFF = "staff@lancashire.test"
PASSWORD = "correct horse battery staple"
DISTRICTS = ["E07000123"] * 120 + ["E07000117"] * 80 + ["E06000009"] * 60 + ["E07000128"] * 4
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}


async def _seed(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await create_user(conn, STAFF, "staff", PASSWORD)
        survey_id = await publish_survey(engine)
        answers = synthetic_responses(list(DEMO_ISSUES), 5, len(DISTRICTS), 7, datetime.now(UTC))
        for answer, district in zip(answers, DISTRICTS, strict=True):
            answer.survey_id, answer.district = survey_id, district
        writer = ResponseWriter(engine)
        await writer.store_now(answers)
        await writer.stop()
        return survey_id
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    workdir = tmp_path_factory.mktemp("packs-site")
    with site_on(sqlite_template, workdir, _seed) as (url, survey_id):
        yield url, survey_id


def _strip_scripts(route: Route) -> None:
    response = route.fetch(max_redirects=0)
    if "text/html" not in response.headers.get("content-type", ""):
        route.fulfill(response=response)
        return
    route.fulfill(response=response, body=re.sub(r"<script\b.*?</script>", "", response.text(), flags=re.S))


def test_staff_freeze_a_pack_on_a_phone_without_javascript_and_every_page_passes_axe(
    browser: Browser, site: tuple[str, int], tmp_path: Path
) -> None:
    url, survey_id = site
    context = browser.new_context(bypass_csp=True, **PHONE)
    context.route(re.compile(re.escape(url) + r"/(?!assets/).*"), _strip_scripts)
    page = context.new_page()
    try:
        page.goto(f"{url}/sign-in?next=/staff")
        page.get_by_label("Email address").fill(STAFF)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/staff")

        page.goto(f"{url}/staff/surveys/{survey_id}/report")
        page.get_by_role("link", name="Strategic Assessment packs").click()
        expect(page.locator("h1")).to_have_text("Strategic Assessment packs")
        assert_accessible(page, "packs list, empty")
        page.get_by_role("button", name="Freeze the report as a pack").click()
        expect(page.get_by_text(re.compile(r"Pack \d+ made"))).to_be_visible()
        assert_accessible(page, "packs list, one pack")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 380)"
            ".slice(0, 8).map(e => e.tagName + '.' + e.className)"
        )
        assert widths[0] <= widths[1], f"the packs list scrolls sideways on a phone: {widths} {wide}"
        screenshot(page, "packs-list-phone")

        with page.expect_download() as download:  # JSON and PDF are files; HTML opens in the browser
            page.get_by_role("link", name=re.compile("^PDF")).first.click()
        assert download.value.suggested_filename.endswith(".pdf")
        page.get_by_role("link", name=re.compile("^HTML")).first.click()
        expect(page.locator("h1")).to_have_count(1)
        expect(page.get_by_role("heading", name="Method appendix")).to_be_visible()
        assert_accessible(page, "pack HTML on a phone")
        screenshot(page, "pack-html-phone")
        served = page.content()
    finally:
        context.close()

    # The same file opened from disk on a desktop asks for nothing from anywhere.
    path = tmp_path / "pack.html"
    path.write_text(served, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    page = context.new_page()
    try:
        page.goto(path.as_uri())
        assert_accessible(page, "pack HTML from disk")
        assert [u for u in asked if not u.startswith(("file:", "data:"))] == []
    finally:
        context.close()
