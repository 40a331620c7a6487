"""The questionnaire builder in Debian's Chromium: axe-core on every builder page and preview step, and a
survey built by keyboard alone.

One `talking serve` for the module, on a fresh SQLite file holding a member of staff, an analyst, an open
survey with responses from a few districts, and a draft with one extra question of each kind.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from talking.auth.services import create_user
from talking.db.engine import create_engine
from talking.questionnaires.schemas import CustomIssue, QuestionCreate, SurveyCreate
from talking.questionnaires.services import create_survey, publish

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS = Path(os.environ.get("TALKING_SCREENSHOTS", "/tmp/talking-screenshots"))
STAFF = "staff@lancashire.test"
ANALYST = "analyst@lancashire.test"
PASSWORD = "correct horse battery staple"
# Responses the open survey has by district: enough to tell the bars apart.
ANSWERS = {"E07000123": 7, "E06000009": 4, "E07000118": 2, "E07000128": 1}


@dataclass
class BuilderSite:
    """A running server, its open survey and its draft."""

    url: str
    open_id: int
    draft_id: int


async def _seed(database_url: str) -> tuple[int, int]:
    """Two accounts, an open survey and a draft with questions; returns (open id, draft id)."""
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await create_user(conn, STAFF, "staff", PASSWORD)
            await create_user(conn, ANALYST, "analyst", PASSWORD)
            open_id = await create_survey(
                conn,
                SurveyCreate(
                    title="Lancashire community safety 2026",
                    introduction="Tell us which issues matter most where you live.",
                    issues=("anti-social-behaviour", "speeding", "burglary", "drug-dealing-and-taking", "fraud"),
                    opens_at=now - timedelta(days=3),
                    closes_at=now + timedelta(days=30),
                ),
            )
            await publish(conn, open_id)
            draft_id = await create_survey(
                conn,
                SurveyCreate(
                    title="Chorley community safety 2027",
                    introduction="Tell us what matters.",
                    issues=("speeding", "burglary", CustomIssue("parking-near-schools", "Parking near schools")),
                    max_picks=3,
                    districts=("E07000118", "E07000126"),
                    closes_at=now + timedelta(days=60),
                    questions=(
                        QuestionCreate(
                            kind="single_choice",
                            prompt="How often do you go out after dark?",
                            options=("Often", "Sometimes", "Never"),
                        ),
                        QuestionCreate(
                            kind="multiple_choice",
                            prompt="How do you hear about local policing?",
                            options=("In the Know", "Social media"),
                        ),
                        QuestionCreate(kind="agreement", prompt="I feel safe walking alone after dark", required=True),
                        QuestionCreate(
                            kind="free_text",
                            prompt="What one thing would make your street safer?",
                            hint="In a few words",
                        ),
                    ),
                ),
            )
        return open_id, draft_id
    finally:
        await engine.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuilderSite]:
    """`talking serve` on a free port of 127.0.0.1, on a fresh database, for this module."""
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run `npm ci`")
    workdir = tmp_path_factory.mktemp("builder-site")
    shutil.copy(sqlite_template, workdir / "talking.db")
    database_url = f"sqlite+aiosqlite:///{workdir / 'talking.db'}"
    # Playwright's sync API keeps an event loop running in this thread: set up in another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        open_id, draft_id = pool.submit(asyncio.run, _seed(database_url)).result()
    port = _free_port()
    env = {
        **os.environ,
        "TALKING_DATABASE_URL": database_url,
        "TALKING_SECRET_KEY": "browser-test-secret",
        "TALKING_HOST": "127.0.0.1",
        "TALKING_PORT": str(port),
    }
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "talking", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        for district, count in ANSWERS.items():
            for _ in range(count):
                answer = {"district": district, "picks": ["speeding", "burglary"]}
                stored = httpx.post(f"{url}/api/v1/surveys/{open_id}/responses", json=answer, timeout=10)
                assert stored.status_code == 201, stored.text
        yield BuilderSite(url=url, open_id=open_id, draft_id=draft_id)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (Playwright never downloads a browser here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and a page in it."""
    # CSP bypassed only so axe-core can be injected; the pages themselves run under their real policy.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- checks --------------------------------------------------------------------------------------


def audit(page: Page, label: str) -> None:
    """Run axe-core on the current page; fail with readable violations if WCAG 2.2 AA is not met."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    violations = result["violations"]
    if violations:
        lines = [f"axe found {len(violations)} violation(s) on {label} ({page.url}):"]
        for violation in violations:
            lines.append(f"- {violation['id']} [{violation['impact']}]: {violation['help']} ({violation['helpUrl']})")
            for node in violation["nodes"][:5]:
                lines.append(f"    {' '.join(map(str, node['target']))}: {node['failureSummary']}".replace("\n", " "))
        pytest.fail("\n".join(lines))


def assert_page(page: Page, heading: str, *, error: bool = False) -> None:
    """One <h1> with this text; a title that says so; with errors, a summary and "Error: " in the title."""
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(re.compile(re.escape(heading)))
    assert page.title().endswith(" - Lancashire Talking")
    if error:
        assert page.title().startswith("Error: ")
        expect(page.locator(".govuk-error-summary")).to_contain_text("There is a problem")
        expect(page.locator(".govuk-error-summary")).to_be_focused()
    else:
        expect(page.locator(".govuk-error-summary")).to_have_count(0)


def sign_in(page: Page, site: BuilderSite, email: str, *, then: str = "/staff") -> None:
    """Sign in through the form, going on to ``then``."""
    page.goto(f"{site.url}/sign-in?next={then}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}{then}")


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def tab_to(page: Page, selector: str, *, limit: int = 250) -> None:
    """Press Tab until the element matching ``selector`` has focus (fails if keyboard users cannot reach it)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"could not reach {selector} with the Tab key on {page.url}")


def type_into(page: Page, selector: str, text: str) -> None:
    """Tab to a text field, clear it and type."""
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


# --- the tests -----------------------------------------------------------------------------------


def test_builder_pages_pass_axe(page: Page, site: BuilderSite) -> None:
    sign_in(page, site, STAFF)
    assert_page(page, "Surveys")
    expect(page.get_by_role("navigation", name="Staff menu").get_by_role("link", name="Surveys")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("tbody tr")).to_have_count(2)
    audit(page, "dashboard")
    screenshot(page, "staff-dashboard")

    page.get_by_role("button", name="Create a survey").click()
    page.wait_for_url(f"{site.url}/staff/surveys/new")
    assert_page(page, "Create a survey")
    audit(page, "new survey")
    page.get_by_label("Title").fill("")
    page.get_by_role("checkbox", name="Speeding").check()
    expect(page.get_by_label("Position in the list for Speeding (optional)")).to_be_visible()  # revealed
    page.get_by_label("Position in the list for Speeding (optional)").fill("7")
    page.locator("#custom-1-code").fill("Burglary")
    page.locator("#opens-day").fill("31")
    page.locator("#opens-month").fill("2")
    page.locator("#opens-year").fill("2027")
    page.get_by_role("button", name="Create the draft survey").click()
    assert_page(page, "Create a survey", error=True)
    expect(page.locator(".govuk-error-summary__list li")).to_have_count(7)
    audit(page, "new survey with errors")
    screenshot(page, "staff-new-survey-errors")
    # The summary's links take you to each field.
    page.locator(".govuk-error-summary").get_by_role("link", name=re.compile("must be a real date")).click()
    expect(page.locator("#opens-day")).to_be_focused()

    page.goto(f"{site.url}/staff/surveys/{site.open_id}")
    assert_page(page, "Lancashire community safety 2026")
    chart = page.get_by_role("img", name="Responses by district (bar chart)")
    expect(chart).to_be_visible()
    expect(chart.locator("text")).to_contain_text(["Blackpool", "4", "Preston", "7"])  # names and numbers as text
    total = page.locator("tbody tr").last
    expect(total).to_contain_text("Total")
    expect(total).to_contain_text("14")
    audit(page, "survey with chart")
    screenshot(page, "staff-survey-chart")
    chart.screenshot(path=str(SCREENSHOTS / "staff-survey-chart-close-up.png"))

    page.goto(f"{site.url}/staff/surveys/{site.draft_id}/questions")
    assert_page(page, "Extra questions")
    audit(page, "questions")
    screenshot(page, "staff-questions")
    page.get_by_role("button", name="Add the question").click()
    assert_page(page, "Extra questions", error=True)
    audit(page, "questions with errors")
    page.get_by_label("Single choice").check()
    page.get_by_label("Question", exact=True).fill("Which one?")
    page.get_by_label(re.compile("Answers to choose from")).fill("Only this")
    page.get_by_role("button", name="Add the question").click()
    assert_page(page, "Extra questions", error=True)
    expect(page.locator(".govuk-error-summary")).to_contain_text("A choice question needs at least 2 options")
    expect(page.get_by_label(re.compile("Answers to choose from"))).to_have_value("Only this")

    page.goto(f"{site.url}/staff/surveys/{site.draft_id}/edit")
    assert_page(page, "Edit the survey")
    audit(page, "edit survey")

    page.goto(f"{site.url}/staff/surveys/{site.draft_id}")
    assert_page(page, "Chorley community safety 2027")
    audit(page, "draft survey page")


def test_every_preview_step_passes_axe(page: Page, site: BuilderSite) -> None:
    sign_in(page, site, STAFF, then=f"/staff/surveys/{site.draft_id}")
    page.get_by_role("link", name=re.compile("Preview the survey")).click()
    steps = 0
    while True:
        steps += 1
        expect(page.get_by_role("region", name="Preview")).to_contain_text("Preview: answers are not saved")
        expect(page.locator("h1")).to_have_count(1)
        assert page.title().startswith("Preview: ")
        for button in page.locator("main button").all():
            expect(button).to_be_disabled()
        audit(page, f"preview step {steps}")
        if steps == 4:
            screenshot(page, "staff-preview-order")
        following = page.get_by_role("link", name=re.compile("^Next page"))
        if following.count() == 0:
            break
        following.click()
        page.wait_for_load_state()
    # start, district, issues, order, 4 questions, comment, about you, check, confirmation
    assert steps == 12
    expect(page.locator(".govuk-panel")).to_contain_text("Your answers have been sent")


def test_build_a_survey_by_keyboard_alone(page: Page, site: BuilderSite) -> None:
    sign_in(page, site, STAFF)
    tab_to(page, "main a.govuk-button[href='/staff/surveys/new']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/staff/surveys/new")
    type_into(page, "#title", "Made by keyboard")
    for box in ("#issues", "#issues-2", "#issues-4"):  # anti-social behaviour, road safety, burglary
        tab_to(page, box)
        page.keyboard.press("Space")
    type_into(page, "#position-burglary", "1")  # revealed right after its box
    type_into(page, "#custom-1-code", "parking-near-schools")
    type_into(page, "#custom-1-label", "Parking near schools")
    type_into(page, "#max_picks", "2")
    tab_to(page, "#districts")
    page.keyboard.press("Space")  # not Blackburn with Darwen
    type_into(page, "#closes-day", "28")
    type_into(page, "#closes-month", "2")
    type_into(page, "#closes-year", str(datetime.now(UTC).year + 1))
    type_into(page, "#closes-time", "17:00")
    tab_to(page, "main button.govuk-button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/surveys/\d+$"))
    assert_page(page, "Made by keyboard")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Survey created as a draft")
    issues = page.locator(".govuk-summary-list__row", has_text="Issues offered").locator("li")
    expect(issues).to_have_text(
        [
            re.compile("^Burglary"),
            re.compile("^Anti-social behaviour"),
            re.compile("^Road safety"),
            re.compile("^Parking near schools"),
        ]
    )
    expect(page.locator("tbody tr")).to_have_count(14)  # 13 districts and the total

    tab_to(page, "main a[href$='/questions']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/questions$"))
    tab_to(page, "input[name='kind']")
    for _ in range(2):
        page.keyboard.press("ArrowDown")  # to the agreement scale
    expect(page.get_by_label("Five-point agreement scale")).to_be_checked()
    type_into(page, "#prompt", "I feel safe at night")
    tab_to(page, "main form[action$='/questions'] button")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Question added")
    expect(page.locator("main h2.govuk-heading-m").first).to_have_text("1. I feel safe at night")

    tab_to(page, "main a.govuk-link[href$='/preview']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/preview$"))
    tab_to(page, "a.govuk-button--start")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/preview/district$"))
    tab_to(page, ".govuk-notification-banner__link")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/surveys/\d+$"))
    tab_to(page, "main form[action$='/publish'] button")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Survey published")
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Open: residents can answer now")
    audit(page, "published by keyboard")


def test_analysts_see_no_actions(page: Page, site: BuilderSite) -> None:
    sign_in(page, site, ANALYST)
    assert_page(page, "Surveys")
    expect(page.get_by_role("button", name="Create a survey")).to_have_count(0)
    audit(page, "dashboard for analysts")
    page.get_by_role("link", name="Lancashire community safety 2026").click()
    assert_page(page, "Lancashire community safety 2026")
    expect(page.locator("main button")).to_have_count(0)
    expect(page.locator("main form")).to_have_count(0)
    audit(page, "survey page for analysts")
