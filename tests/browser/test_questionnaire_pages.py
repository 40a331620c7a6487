"""The questionnaire builder in Debian's Chromium: axe-core on every builder page and preview step, and a
survey built by keyboard alone.

One `talking serve` for the module, on a fresh SQLite file holding a member of staff, an analyst, an open
survey with responses from a few districts, and a draft with one extra question of each kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from talking.auth.services import create_user
from talking.db.engine import create_engine
from talking.questionnaires.schemas import CustomIssue, QuestionCreate, SurveyCreate
from talking.questionnaires.services import create_survey, publish

from .conftest import SCREENSHOTS, assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

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


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuilderSite]:
    """`talking serve` on a fresh database with an open survey (with answers) and a draft, for this module."""
    with site_on(sqlite_template, tmp_path_factory.mktemp("builder-site"), _seed) as (url, (open_id, draft_id)):
        for district, count in ANSWERS.items():
            for _ in range(count):
                answer = {"district": district, "picks": ["speeding", "burglary"]}
                stored = httpx.post(f"{url}/api/v1/surveys/{open_id}/responses", json=answer, timeout=10)
                assert stored.status_code == 201, stored.text
        yield BuilderSite(url=url, open_id=open_id, draft_id=draft_id)


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
    assert_accessible(page, "dashboard")
    screenshot(page, "staff-dashboard")

    page.get_by_role("button", name="Create a survey").click()
    page.wait_for_url(f"{site.url}/staff/surveys/new")
    assert_page(page, "Create a survey")
    assert_accessible(page, "new survey")
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
    assert_accessible(page, "new survey with errors")
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
    assert_accessible(page, "survey with chart")
    screenshot(page, "staff-survey-chart")
    chart.screenshot(path=str(SCREENSHOTS / "staff-survey-chart-close-up.png"))

    page.goto(f"{site.url}/staff/surveys/{site.draft_id}/questions")
    assert_page(page, "Extra questions")
    assert_accessible(page, "questions")
    screenshot(page, "staff-questions")
    page.get_by_role("button", name="Add the question").click()
    assert_page(page, "Extra questions", error=True)
    assert_accessible(page, "questions with errors")
    page.get_by_label("Single choice").check()
    page.get_by_label("Question", exact=True).fill("Which one?")
    page.get_by_label(re.compile("Answers to choose from")).fill("Only this")
    page.get_by_role("button", name="Add the question").click()
    assert_page(page, "Extra questions", error=True)
    expect(page.locator(".govuk-error-summary")).to_contain_text("A choice question needs at least 2 options")
    expect(page.get_by_label(re.compile("Answers to choose from"))).to_have_value("Only this")

    page.goto(f"{site.url}/staff/surveys/{site.draft_id}/edit")
    assert_page(page, "Edit the survey")
    assert_accessible(page, "edit survey")

    page.goto(f"{site.url}/staff/surveys/{site.draft_id}")
    assert_page(page, "Chorley community safety 2027")
    assert_accessible(page, "draft survey page")


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
        assert_accessible(page, f"preview step {steps}")
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
    assert_accessible(page, "published by keyboard")


def test_analysts_see_no_actions(page: Page, site: BuilderSite) -> None:
    sign_in(page, site, ANALYST)
    assert_page(page, "Surveys")
    expect(page.get_by_role("button", name="Create a survey")).to_have_count(0)
    assert_accessible(page, "dashboard for analysts")
    page.get_by_role("link", name="Lancashire community safety 2026").click()
    assert_page(page, "Lancashire community safety 2026")
    expect(page.locator("main button")).to_have_count(0)
    expect(page.locator("main form")).to_have_count(0)
    assert_accessible(page, "survey page for analysts")
