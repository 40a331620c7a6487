"""A members survey's page with its invitations and response rates, and the pages that send invitations and
reminders, in Debian's Chromium: axe-core (WCAG 2.2 AA) on each, at desktop and phone widths, without JavaScript
for the sending itself.

One `talking serve` for the module, on a fresh SQLite file with a member of staff, a small panel and a members
survey whose invitations have gone out and some of which are answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from talking.auth.services import create_user
from talking.db.engine import create_engine, immediate
from talking.db.models import invitations
from talking.invitations.services import send_invitations
from talking.members.member_file import read_text_file
from talking.members.services import import_members
from talking.testing.surveys import publish_survey

from .conftest import assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

STAFF = "staff@lancashire.test"
PASSWORD = "correct horse battery staple"


@dataclass
class PanelSite:
    """A running server and the members survey's id."""

    url: str
    survey_id: int


async def _panel(database_url: str) -> int:
    """Staff, 60 members in three districts, a members survey with its invitations sent and some answered."""
    panel = ["email,district"] + [f"resident{n}@example.org,{['Preston', 'Burnley', 'Wyre'][n % 3]}" for n in range(60)]
    _count, rows = read_text_file(("\n".join(panel) + "\n").encode())
    engine = create_engine(database_url)
    try:
        async with immediate(engine).begin() as conn:
            await create_user(conn, STAFF, "staff", PASSWORD)
            await import_members(conn, rows)
        survey_id = await publish_survey(engine, title="Panel survey, winter", audience="members")
        async with immediate(engine).begin() as conn:
            await send_invitations(conn, survey_id, base_url="http://127.0.0.1", secret_key="browser-tests")
            answered = (await conn.execute(select(invitations.c.id).where(invitations.c.member_id % 4 == 0))).scalars()
            today = datetime.now(UTC).date()
            await conn.execute(update(invitations).where(invitations.c.id.in_(list(answered))).values(used_on=today))
            # A week on, so that reminders may go.
            await conn.execute(update(invitations).values(invited_at=datetime.now(UTC) - timedelta(days=7)))
        return survey_id
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelSite]:
    with site_on(sqlite_template, tmp_path_factory.mktemp("panel-site"), _panel) as (url, survey_id):
        yield PanelSite(url=url, survey_id=survey_id)


def sign_in(page: Page, site: PanelSite, then: str) -> None:
    page.goto(f"{site.url}/sign-in?next={then}")
    page.get_by_label("Email address").fill(STAFF)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_survey_page_shows_the_rates_as_a_chart_and_a_table(page: Page, site: PanelSite) -> None:
    survey = f"/staff/surveys/{site.survey_id}"
    sign_in(page, site, survey)
    expect(page.locator("h1")).to_have_text("Panel survey, winter")
    expect(page.get_by_role("heading", name="Invitations and response rates")).to_be_visible()
    table = page.locator("table", has_text="Panel members invited")
    expect(table.locator("tbody tr")).to_have_count(4)  # three districts and the county
    expect(page.locator("svg[aria-labelledby='rate-chart-title rate-chart-desc']")).to_be_visible()
    expect(page.locator(".govuk-warning-text")).to_contain_text("Low response rate")
    assert_accessible(page, "a members survey's page")
    screenshot(page, "invitations-survey-page")
    page.set_viewport_size({"width": 375, "height": 800})
    assert_accessible(page, "a members survey's page on a phone")


@pytest.mark.parametrize("path", ["invitations", "reminders"])
def test_the_sending_pages_are_accessible(page: Page, site: PanelSite, path: str) -> None:
    sign_in(page, site, f"/staff/surveys/{site.survey_id}/{path}")
    assert_accessible(page, f"the {path} page")
    page.set_viewport_size({"width": 375, "height": 800})
    assert_accessible(page, f"the {path} page on a phone")
    screenshot(page, f"invitations-{path}")


def test_send_invitations_and_reminders_without_javascript(browser: Browser, site: PanelSite) -> None:
    """Last in the module: it sends the reminders the pages above offer."""
    context = browser.new_context(viewport={"width": 375, "height": 800}, java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, site, f"/staff/surveys/{site.survey_id}/invitations")
        expect(page.locator("h1")).to_have_text("Send invitations")
        expect(page.locator("#invitable")).to_contain_text("0 members have no invitation yet")
        # Untick every district: the error summary says what to do.
        for box in page.get_by_role("checkbox").all():
            box.uncheck()
        page.get_by_role("button", name="Send the invitations").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("Choose at least one district to invite")
        assert page.title().startswith("Error: ")
        page.get_by_label("Preston").check()
        page.get_by_role("button", name="Send the invitations").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("Nobody new to invite")

        page.goto(f"{site.url}/staff/surveys/{site.survey_id}/reminders")
        expect(page.locator("h1")).to_have_text("Send reminders")
        expect(page.locator("#remindable")).to_contain_text("45 members can be reminded now.")
        page.get_by_role("button", name="Send the reminders").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("45 reminders sent")
    finally:
        context.close()
