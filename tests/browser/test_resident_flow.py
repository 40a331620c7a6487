"""A resident answers a survey in Debian's Chromium: without JavaScript, by keyboard alone, on a phone.

Each test runs `talking serve` on a fresh SQLite file with one open survey, and checks every page
(error states included) with axe-core for WCAG 2.2 AA problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from talking.db.engine import create_engine
from talking.questionnaires.schemas import QuestionCreate, SurveyCreate
from talking.questionnaires.services import create_survey, publish
from talking.surveys.references import REFERENCE_PATTERN

from .conftest import SCREENSHOTS, assert_accessible, site_on

pytestmark = pytest.mark.browser

SURVEY_ISSUES = ("anti-social-behaviour", "road-safety", "drug-dealing-and-taking", "burglary", "fraud")


# --- a server and a browser ----------------------------------------------------------------------


@dataclass
class Site:
    """A running server with one open survey."""

    url: str
    survey_id: int


async def _publish(database_url: str) -> int:
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    data = SurveyCreate(
        title="Community safety where you live",
        introduction="Tell us which issues matter most where you live.",
        issues=SURVEY_ISSUES,
        max_picks=3,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        questions=(
            QuestionCreate(
                kind="agreement", key="police-listen", required=True, prompt="The police listen to people round here"
            ),
        ),
    )
    try:
        async with engine.begin() as conn:
            survey_id = await create_survey(conn, data)
            await publish(conn, survey_id)
        return survey_id
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`talking serve` on a fresh database with one open survey (each test is its own resident)."""
    with site_on(sqlite_template, tmp_path_factory.mktemp("browser"), _publish) as (url, survey_id):
        yield Site(url=url, survey_id=survey_id)


@dataclass
class Visit:
    """One browser context and what it saw: every request's host, every page audited."""

    context: BrowserContext
    page: Page
    hosts: set[str] = field(default_factory=set)
    audited: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    failed_assets: list[str] = field(default_factory=list)


def _strip_scripts(route: Route) -> None:
    """Serve the page without its scripts: the page as a browser without JavaScript builds it."""
    response = route.fetch(max_redirects=0)  # the browser follows redirects itself, changing its URL
    if "text/html" not in response.headers.get("content-type", ""):
        route.fulfill(response=response)
        return
    body = re.sub(r"<script\b.*?</script>", "", response.text(), flags=re.S)
    route.fulfill(response=response, body=body)


def open_visit(
    browser: Browser, site: Site, *, javascript: str = "on", enforce_csp: bool = False, **options: object
) -> Visit:
    """A new context: javascript "on", "off" (disabled), or "stripped" (scripts removed, axe can still run).

    The page's Content-Security-Policy is bypassed, so that axe can be injected, unless enforce_csp.
    """
    context = browser.new_context(java_script_enabled=javascript != "off", bypass_csp=not enforce_csp, **options)
    if javascript == "stripped":
        context.route(re.compile(re.escape(site.url) + r"/(?!assets/).*"), _strip_scripts)
    page = context.new_page()
    visit = Visit(context=context, page=page)
    page.on("request", lambda request: visit.hosts.add(re.sub(r"^\w+://([^/]+).*", r"\1", request.url)))
    page.on("pageerror", lambda error: visit.script_errors.append(str(error)))
    page.on("response", lambda r: "/assets/" in r.url and r.status >= 400 and visit.failed_assets.append(r.url))
    page.on("console", lambda message: message.type == "error" and visit.script_errors.append(message.text))
    return visit


# --- checks --------------------------------------------------------------------------------------


def audit(visit: Visit, label: str) -> None:
    """Run axe-core on the visit's current page (WCAG 2.2 AA) and note that it was checked."""
    assert_accessible(visit.page, label)
    visit.audited.append(label)


def assert_page(visit: Visit, heading: str, *, error: bool = False) -> None:
    """One <h1> with this text; a title that says so; with errors, a summary and "Error: " in the title."""
    page = visit.page
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(re.compile(re.escape(heading)))
    assert heading in page.title()
    assert page.title().endswith(" - Lancashire Talking")
    if error:
        assert page.title().startswith("Error: ")
        expect(page.locator(".govuk-error-summary")).to_contain_text("There is a problem")
    else:
        expect(page.locator(".govuk-error-summary")).to_have_count(0)


def tab_to(page: Page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has focus (fails if keyboard users cannot reach it)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"could not reach {selector} with the Tab key on {page.url}")


def continue_by_keyboard(page: Page) -> None:
    """Tab to the form's button and press Enter."""
    tab_to(page, "main button.govuk-button")
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def choose_radio_by_keyboard(page: Page, name: str, value: str) -> None:
    """Tab into a radio group and move with the arrow keys until ``value`` is chosen."""
    tab_to(page, f"input[name='{name}']")
    for _ in range(30):
        if page.evaluate(
            "([n, v]) => document.querySelector(`input[name='${n}'][value='${v}']`).checked", [name, value]
        ):
            return
        page.keyboard.press("ArrowDown")
    pytest.fail(f"could not choose {value} in {name} with the arrow keys")


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("javascript", ["on", "stripped"])
def test_keyboard_only_journey_passes_axe(browser: Browser, site: Site, javascript: str) -> None:
    """Tab, Space, arrows and Enter only; axe on every page and every error state (with and without scripts)."""
    visit = open_visit(browser, site, javascript=javascript)
    page = visit.page
    base = f"{site.url}/surveys/{site.survey_id}"
    try:
        page.goto(site.url + "/")
        assert_page(visit, "Have your say about community safety in Lancashire")
        audit(visit, "home")
        tab_to(page, f"main a[href='/surveys/{site.survey_id}']")
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        assert_page(visit, "Community safety where you live")
        audit(visit, "start")
        tab_to(page, "a.govuk-button--start")
        page.keyboard.press("Enter")

        page.wait_for_url(f"{base}/district")
        assert_page(visit, "Which area do you live in?")
        audit(visit, "district")
        continue_by_keyboard(page)
        assert_page(visit, "Which area do you live in?", error=True)
        audit(visit, "district error")
        choose_radio_by_keyboard(page, "district", "E07000123")
        continue_by_keyboard(page)

        page.wait_for_url(f"{base}/issues")
        assert_page(visit, "Which issues matter most to you?")
        audit(visit, "issues")
        continue_by_keyboard(page)
        assert_page(visit, "Which issues matter most to you?", error=True)
        audit(visit, "issues error")
        for n in (1, 2, 4, 5):  # four picks where three are allowed
            tab_to(page, "#picks" if n == 1 else f"#picks-{n}")
            page.keyboard.press("Space")
        continue_by_keyboard(page)
        assert_page(visit, "Which issues matter most to you?", error=True)
        expect(page.locator(".govuk-error-summary")).to_contain_text("Select no more than 3 issues")
        audit(visit, "issues too many")
        tab_to(page, "#picks-5")
        page.keyboard.press("Space")  # untick fraud
        continue_by_keyboard(page)

        page.wait_for_url(f"{base}/order")
        assert_page(visit, "Put the issues in order")
        audit(visit, "order")
        for code, key in (("anti-social-behaviour", "1"), ("road-safety", "1"), ("burglary", "2")):
            tab_to(page, f"#position-{code}")
            page.keyboard.press(key)
        continue_by_keyboard(page)
        assert_page(visit, "Put the issues in order", error=True)
        audit(visit, "order error")
        # The error summary's links take keyboard users to the fields.
        tab_to(page, ".govuk-error-summary a[href='#position-anti-social-behaviour']")
        page.keyboard.press("Enter")
        expect(page.locator("#position-anti-social-behaviour")).to_be_focused()
        page.keyboard.press("3")
        expect(page.locator("#position-anti-social-behaviour")).to_have_value("3")
        continue_by_keyboard(page)

        page.wait_for_url(f"{base}/questions/police-listen")
        assert_page(visit, "The police listen to people round here")
        audit(visit, "extra question")
        continue_by_keyboard(page)
        assert_page(visit, "The police listen to people round here", error=True)
        audit(visit, "extra question error")
        choose_radio_by_keyboard(page, "answer", "agree")
        continue_by_keyboard(page)

        page.wait_for_url(f"{base}/comment")
        assert_page(visit, "Is there anything else you want to tell us?")
        audit(visit, "comment")
        tab_to(page, "#comment")
        page.keyboard.insert_text("x" * 2_001)
        continue_by_keyboard(page)
        assert_page(visit, "Is there anything else you want to tell us?", error=True)
        audit(visit, "comment too long")
        tab_to(page, "#comment")
        page.keyboard.press("Control+A")
        page.keyboard.type("Speeding on Church Road.")
        continue_by_keyboard(page)

        page.wait_for_url(f"{base}/about-you")
        assert_page(visit, "About you")
        audit(visit, "about you")
        choose_radio_by_keyboard(page, "age_band", "45-54")
        continue_by_keyboard(page)

        page.wait_for_url(f"{base}/check")
        assert_page(visit, "Check your answers before sending them")
        audit(visit, "check")
        summary = page.locator(".govuk-summary-list")
        expect(summary).to_contain_text("Preston")
        expect(summary).to_contain_text("Speeding on Church Road.")
        expect(summary).to_contain_text("45 to 54")
        expect(page.locator(".govuk-summary-list ol li")).to_have_text(
            ["Road safety", "Burglary", "Anti-social behaviour"]
        )
        # Change the area by keyboard, and come back to the check page.
        tab_to(page, "a[href$='/district?change=1']")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/district?change=1")
        choose_radio_by_keyboard(page, "district", "E07000124")
        continue_by_keyboard(page)
        page.wait_for_url(f"{base}/check")
        expect(summary).to_contain_text("Ribble Valley")

        tab_to(page, "main button.govuk-button")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/done")
        assert_page(visit, "Your answers have been sent")
        expect(page.locator(".govuk-panel__body")).to_contain_text(re.compile(REFERENCE_PATTERN))
        audit(visit, "done")

        page.goto(f"{site.url}/surveys/999")
        assert_page(visit, "Page not found")
        audit(visit, "not found")
    finally:
        visit.context.close()
    assert visit.hosts == {site.url.removeprefix("http://")}, f"requests went elsewhere: {visit.hosts}"
    assert len(visit.audited) == 17, visit.audited
    # Chromium logs every 4xx page it loads (422 error states, the 404 page); anything else is a script failing.
    assert [e for e in visit.script_errors if "Failed to load resource" not in e] == [], visit.script_errors
    assert visit.failed_assets == []


def test_journey_with_javascript_off(browser: Browser, site: Site) -> None:
    """Every page works, errors included, in a browser with JavaScript disabled."""
    visit = open_visit(browser, site, javascript="off")
    page = visit.page
    base = f"{site.url}/surveys/{site.survey_id}"
    try:
        page.goto(f"{base}")
        assert "js-enabled" not in (page.get_attribute("body", "class") or "")
        page.get_by_role("button", name="Start now").click()
        page.get_by_role("button", name="Continue").click()
        assert_page(visit, "Which area do you live in?", error=True)
        page.get_by_role("link", name="Enter your postcode, or choose your area from the list").click()
        page.get_by_label("Blackpool").check()
        page.get_by_role("button", name="Continue").click()

        page.wait_for_url(f"{base}/issues")
        page.get_by_label("Drug dealing and taking").check()
        page.get_by_role("button", name="Continue").click()

        # One pick: no ordering needed.
        page.wait_for_url(f"{base}/questions/police-listen")
        page.get_by_label("Strongly agree").check()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{base}/comment")
        expect(page.locator(".govuk-character-count__message")).to_contain_text("2000 characters")
        page.get_by_label("Is there anything else you want to tell us? (optional)").fill(
            "Dealing behind the shops.\nMost evenings."
        )
        page.get_by_role("button", name="Continue").click()

        page.wait_for_url(f"{base}/about-you")
        page.get_by_role("group", name="What is your sex? (optional)").get_by_label("Prefer not to say").check()
        page.get_by_role("button", name="Continue").click()

        page.wait_for_url(f"{base}/check")
        expect(page.locator(".govuk-summary-list")).to_contain_text("Blackpool")
        expect(page.locator(".govuk-summary-list")).to_contain_text("Drug dealing and taking")
        expect(page.get_by_role("link", name="Change order")).to_have_count(0)
        # Change the issues: two picks now need ordering, then back to the check page.
        page.get_by_role("link", name="Change the issues you chose").click()
        page.get_by_label("Burglary").check()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{base}/order?change=1")
        page.get_by_label("Burglary").select_option("1")
        page.get_by_label("Drug dealing and taking").select_option("2")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{base}/check")
        expect(page.locator(".govuk-summary-list ol li")).to_have_text(["Burglary", "Drug dealing and taking"])

        page.get_by_role("button", name="Submit").click()
        page.wait_for_url(f"{base}/done")
        assert_page(visit, "Your answers have been sent")
        expect(page.locator(".govuk-panel__body")).to_contain_text(re.compile(REFERENCE_PATTERN))
        # Back to the check page after sending: the answers are gone, so the journey starts again.
        page.goto(f"{base}/check")
        page.wait_for_url(f"{base}/district")
    finally:
        visit.context.close()


def walk_the_journey(page: Page, site: Site, at: Callable[[str], None]) -> None:
    """Click through a whole journey, error states included, calling ``at(label)`` on each page reached."""
    base = f"{site.url}/surveys/{site.survey_id}"
    comment = page.get_by_label("Is there anything else you want to tell us? (optional)")
    page.goto(site.url + "/")
    at("home")
    page.goto(base)
    at("start")
    page.get_by_role("button", name="Start now").click()
    page.get_by_role("button", name="Continue").click()
    at("district-error")
    page.get_by_label("Wyre").check()
    page.get_by_role("button", name="Continue").click()
    at("issues")
    for label in ("Anti-social behaviour", "Road safety", "Burglary"):
        page.get_by_label(label).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()
    at("order-error")
    for n, label in enumerate(("Burglary", "Road safety", "Anti-social behaviour"), start=1):
        page.get_by_label(label).select_option(str(n))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()
    at("question-error")
    page.get_by_label("Disagree", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    comment.fill("y" * 2_001)
    page.get_by_role("button", name="Continue").click()
    at("comment-error")
    comment.fill("A long word: " + "Supercalifragilisticexpialidocious" * 3)
    page.get_by_role("button", name="Continue").click()
    at("about-you")
    page.get_by_role("button", name="Continue").click()
    at("check")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"{base}/done")
    at("done")


def test_pages_keep_to_their_own_content_security_policy(browser: Browser, site: Site) -> None:
    """With the CSP enforced, as residents' browsers enforce it, every script runs and nothing is refused.

    The other tests bypass the CSP to inject axe, so a nonce missing from an inline script, or an
    asset from somewhere the policy does not allow, would pass them unnoticed.
    """
    visit = open_visit(browser, site, enforce_csp=True)
    page = visit.page
    # Injected by the browser itself, before the page's own scripts, and not subject to its CSP.
    visit.context.add_init_script(
        "window.__refused = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__refused.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    refused: dict[str, list[str]] = {}

    def keeps_to_policy(label: str) -> None:
        assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')"), label  # inline script
        if label == "district-error":  # GOV.UK Frontend's error summary script moves focus to it: its module ran
            expect(page.locator(".govuk-error-summary")).to_be_focused()
        if label == "comment-error":  # and its character count counts what the resident typed
            expect(page.locator(".govuk-character-count__status")).to_contain_text("1 character too many")
        refused[label] = page.evaluate("window.__refused")

    try:
        walk_the_journey(page, site, keeps_to_policy)
    finally:
        visit.context.close()
    assert len(refused) == 10 and all(not seen for seen in refused.values()), refused
    assert [e for e in visit.script_errors if "Failed to load resource" not in e] == [], visit.script_errors
    assert visit.failed_assets == []


def test_phone_has_no_sideways_scrolling(browser: Browser, site: Site) -> None:
    """At 375 x 667 no page, error states included, scrolls sideways."""
    visit = open_visit(browser, site, viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = visit.page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def fits(label: str) -> None:
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        page.screenshot(path=str(SCREENSHOTS / f"phone-{label}.png"), full_page=True)
        assert widths[0] <= widths[1], f"{label} scrolls sideways: {widths[0]}px wide in a {widths[1]}px screen"

    try:
        walk_the_journey(page, site, fits)
    finally:
        visit.context.close()


def test_privacy_and_accessibility_pages(browser: Browser, site: Site) -> None:
    """The footer's information pages pass axe and fit a phone."""
    visit = open_visit(browser, site, viewport={"width": 375, "height": 667}, is_mobile=True)
    page = visit.page
    try:
        page.goto(site.url + "/")
        for link, heading in (("Privacy", "Privacy notice"), ("Accessibility statement", "Accessibility statement")):
            page.get_by_role("link", name=link).click()
            assert page.get_by_role("heading", level=1).inner_text() == heading
            audit(visit, heading)
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{heading} scrolls sideways"
    finally:
        visit.context.close()
