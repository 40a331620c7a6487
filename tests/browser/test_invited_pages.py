"""The invited resident's pages in Debian's Chromium: on a phone, without JavaScript, checked by axe.

`talking serve` on a fresh SQLite file with a members survey and a few invited members. Every page
of the invited journey (the landing, the questions, the check page, the confirmation), "already
answered" (from the link and on submitting), a link that does not work and the members-only page
must meet WCAG 2.2 AA and never scroll sideways at 375 pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from talking.db.engine import create_engine
from talking.testing.invitations import invite_many, publish_members_survey

from .conftest import assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

SECRET = "live-server-secret-key"  # live_server's
PRESTON = "E07000123"


@dataclass
class Site:
    """A running server with a members survey and the tokens of its invited members."""

    url: str
    survey_id: int
    tokens: list[str]


async def _prepare(database_url: str) -> tuple[int, list[str]]:
    engine = create_engine(database_url)
    try:
        survey_id = await publish_members_survey(engine, title="Community safety in your area")
        return survey_id, await invite_many(engine, SECRET, survey_id, [PRESTON], 4)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`talking serve` with a members survey and four invitations to it."""
    with site_on(sqlite_template, tmp_path_factory.mktemp("invited"), _prepare) as (url, (survey_id, tokens)):
        yield Site(url=url, survey_id=survey_id, tokens=tokens)


def phone(browser: Browser) -> BrowserContext:
    """A new phone-sized browser with JavaScript off (the pages must not need it); axe injected past the CSP."""
    return browser.new_context(
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
        bypass_csp=True,
    )


def check(page: Page, label: str) -> None:
    """axe finds nothing, and the page does not scroll sideways (axe needs JavaScript: a moment's worth)."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), label
    assert_accessible(page, label)
    screenshot(page, f"invited-{label}")


def audited(browser: Browser, url: str, label: str, status: int) -> None:
    """Open ``url`` in a fresh phone-sized browser with JavaScript on (axe runs in the page) and check it."""
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, bypass_csp=True)
    try:
        page = context.new_page()
        response = page.goto(url)
        assert response is not None and response.status == status, (label, response and response.status)
        check(page, label)
    finally:
        context.close()


def test_the_invited_journey_on_a_phone_without_javascript(browser: Browser, site: Site) -> None:
    token = site.tokens[0]
    context = phone(browser)
    try:
        page = context.new_page()
        page.goto(f"{site.url}/i/{token}")
        expect(page.locator("h1")).to_have_text("Community safety in your area")
        expect(page.get_by_text("You are answering for Preston.")).to_be_visible()
        expect(page.get_by_role("link", name="Update your details")).to_have_attribute("href", f"/i/{token}/details")
        page.get_by_role("button", name="Start now").click()
        page.get_by_label("Burglary").check()
        page.get_by_label("Fraud").check()
        page.get_by_role("button", name="Continue").click()
        page.locator("select").nth(0).select_option("1")
        page.locator("select").nth(1).select_option("2")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Continue").click()  # nothing else to say
        page.get_by_role("button", name="Continue").click()  # about you: optional
        expect(page.locator("h1")).to_have_text("Check your answers before sending them")
        expect(page.get_by_role("link", name="Change the area you live in")).to_have_count(0)
        page.get_by_role("button", name="Submit").click()
        expect(page.locator("h1")).to_have_text("Your answers have been sent")
    finally:
        context.close()
    # Each page of the journey, with JavaScript on for axe, in a browser of its own.
    audited(browser, f"{site.url}/i/{site.tokens[1]}", "landing", 200)
    audited(browser, f"{site.url}/i/{token}", "already-answered", 200)


def test_the_journeys_own_pages_pass_axe(browser: Browser, site: Site) -> None:
    token = site.tokens[2]
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{site.url}/i/{token}")
        check(page, "landing-with-javascript")
        page.get_by_role("button", name="Start now").click()
        check(page, "issues")
        page.get_by_label("Road safety").check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Continue").click()  # comment
        page.get_by_role("button", name="Continue").click()  # about you
        expect(page.locator("h1")).to_have_text("Check your answers before sending them")
        check(page, "check")
        # Someone else answers with the same link first; then this browser presses Submit.
        other = browser.new_context()
        try:
            elsewhere = other.new_page()
            elsewhere.goto(f"{site.url}/i/{token}")
            elsewhere.get_by_role("button", name="Start now").click()
            elsewhere.get_by_label("Fraud").check()
            elsewhere.get_by_role("button", name="Continue").click()
            elsewhere.get_by_role("button", name="Continue").click()
            elsewhere.get_by_role("button", name="Continue").click()
            elsewhere.get_by_role("button", name="Submit").click()
            expect(elsewhere.locator("h1")).to_have_text("Your answers have been sent")
        finally:
            other.close()
        response = page.expect_response(lambda r: r.request.method == "POST")
        with response as answered:
            page.get_by_role("button", name="Submit").click()
        assert answered.value.status == 409
        expect(page.locator("h1")).to_have_text("You have already answered this survey")
        check(page, "already-answered-on-submit")
    finally:
        context.close()


def test_links_that_cannot_be_answered_pass_axe(browser: Browser, site: Site) -> None:
    audited(browser, f"{site.url}/i/{site.tokens[3][:-1]}", "link-does-not-work", 404)
    audited(browser, f"{site.url}/surveys/{site.survey_id}", "members-only", 403)
