"""Staff pages in Debian's Chromium: sign in through the form, then axe-core on every staff and admin page.

One `talking serve` for the module (on a fresh SQLite file with an admin, a member of staff and a few
audit events); each test has its own browser context, so its own cookies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from talking.auth.services import create_token, create_user
from talking.db.engine import create_engine

from .conftest import assert_accessible, screenshot, site_on

pytestmark = pytest.mark.browser

ADMIN = "admin@lancashire.test"
STAFF = "staff@lancashire.test"
PASSWORD = "correct horse battery staple"


@dataclass
class StaffSite:
    """A running server and the staff account's id."""

    url: str
    staff_id: int


async def _accounts(database_url: str) -> int:
    """An admin, a member of staff with a token, and so a few audit events; returns the staff id."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await create_user(conn, ADMIN, "admin", PASSWORD)
            staff = await create_user(conn, STAFF, "staff", PASSWORD)
            await create_token(conn, staff.id, "nightly export")
        return staff.id
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffSite]:
    """`talking serve` on a fresh database with an admin and a member of staff, for this module."""
    with site_on(sqlite_template, tmp_path_factory.mktemp("staff-site"), _accounts) as (url, staff_id):
        yield StaffSite(url=url, staff_id=staff_id)


# --- checks --------------------------------------------------------------------------------------


def assert_page(page: Page, heading: str, *, error: bool = False) -> None:
    """One <h1> with this text; a title that says so; with errors, a summary and "Error: " in the title."""
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text(re.compile(re.escape(heading)))
    assert page.title().endswith(" - Lancashire Talking")
    if error:
        assert page.title().startswith("Error: ")
        expect(page.locator(".govuk-error-summary")).to_contain_text("There is a problem")
        # GOV.UK Frontend moves focus to the summary so screen readers announce it.
        expect(page.locator(".govuk-error-summary")).to_be_focused()
    else:
        expect(page.locator(".govuk-error-summary")).to_have_count(0)


def sign_in(page: Page, site: StaffSite, email: str, password: str = PASSWORD, *, then: str = "/account") -> None:
    """Sign in through the form, going on to ``then``."""
    page.goto(f"{site.url}/sign-in?next={then}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}{then}")


# --- the tests -----------------------------------------------------------------------------------


def test_sign_in_and_out_pass_axe(page: Page, site: StaffSite) -> None:
    page.goto(f"{site.url}/sign-in?next=/account")
    assert_page(page, "Sign in")
    expect(page.locator(".govuk-service-navigation")).to_have_count(0)
    assert_accessible(page, "sign-in")

    page.get_by_role("button", name="Sign in").click()
    assert_page(page, "Sign in", error=True)
    assert_accessible(page, "sign-in with empty fields")

    page.get_by_label("Email address").fill(STAFF)
    page.get_by_label("Password", exact=True).fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    assert_page(page, "Sign in", error=True)
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a correct email address and password.")
    expect(page.get_by_label("Email address")).to_have_value(STAFF)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert_accessible(page, "sign-in refused")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/account")
    assert_page(page, "Your account")
    menu = page.get_by_role("navigation", name="Staff menu")
    expect(menu.get_by_role("link")).to_have_text(
        ["Surveys", "Members", "Recorded crime", "Account"]
    )  # no admin links for staff

    menu.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_url(re.compile(r"/sign-in\?signed-out=1$"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You have signed out.")
    assert_page(page, "Sign in")
    assert_accessible(page, "signed out")
    page.goto(f"{site.url}/account")
    assert page.url.startswith(f"{site.url}/sign-in?next=")


def test_account_and_token_pages_pass_axe(page: Page, site: StaffSite) -> None:
    sign_in(page, site, STAFF)
    assert_page(page, "Your account")
    assert_accessible(page, "account")

    page.get_by_role("button", name="Create token").click()
    assert_page(page, "Your account", error=True)
    assert_accessible(page, "account with a token error")

    page.get_by_label("Token name").fill("survey dashboard")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url(f"{site.url}/account/tokens/new")
    assert_page(page, "API token created")
    token = page.get_by_label("Your new token").input_value()
    assert token.startswith("tk_")
    assert_accessible(page, "new token")

    page.get_by_role("link", name="Go back to your account").click()
    assert token not in page.content()
    expect(page.locator("tbody tr")).to_have_count(2)
    assert_accessible(page, "account with tokens")
    screenshot(page, "staff-account")
    assert httpx.get(f"{site.url}/api/v1/surveys", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    page.get_by_role("button", name="Revoke survey dashboard").click()
    page.wait_for_url(f"{site.url}/account")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("has been revoked")
    assert_accessible(page, "account after revoking")
    assert httpx.get(f"{site.url}/api/v1/surveys", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_admin_pages_pass_axe(page: Page, site: StaffSite) -> None:
    sign_in(page, site, ADMIN, then="/admin/users")
    assert_page(page, "Staff accounts")
    menu = page.get_by_role("navigation", name="Staff menu")
    expect(menu.get_by_role("link")).to_have_text(
        ["Surveys", "Members", "Recorded crime", "Account", "Users", "Audit log"]
    )
    expect(menu.get_by_role("link", name="Users")).to_have_attribute("aria-current", "page")
    assert_accessible(page, "users")

    page.get_by_role("button", name="Add an account").click()
    page.wait_for_url(f"{site.url}/admin/users/new")
    assert_page(page, "Add a staff account")
    assert_accessible(page, "new user")
    page.get_by_label("Email address").fill("not an email")
    page.get_by_label("Initial password", exact=True).fill("short")
    page.get_by_role("button", name="Add account").click()
    assert_page(page, "Add a staff account", error=True)
    expect(page.locator(".govuk-error-summary__list li")).to_have_count(4)
    assert_accessible(page, "new user with errors")

    page.get_by_label("Email address").fill("new.analyst@lancashire.test")
    page.get_by_label("Analyst").check()
    page.get_by_label("Initial password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm the initial password").fill(PASSWORD)
    page.get_by_role("button", name="Add account").click()
    page.wait_for_url(re.compile(r"/admin/users/\d+$"))
    assert_page(page, "new.analyst@lancashire.test")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Account created")
    assert_accessible(page, "user created")

    page.get_by_label("Staff", exact=True).check()
    page.get_by_role("button", name="Save role").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("is now staff")
    page.get_by_role("button", name="Deactivate account").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("has been deactivated")
    assert_accessible(page, "user deactivated")

    page.goto(f"{site.url}/admin/users/1")  # yourself: refusals are shown as errors
    page.get_by_role("button", name="Deactivate account").click()
    assert_page(page, ADMIN, error=True)
    assert_accessible(page, "user error")

    page.goto(f"{site.url}/admin/audit")
    assert_page(page, "Audit log")
    expect(page.locator("tbody tr").first).to_contain_text("User deactivated")
    assert_accessible(page, "audit log")
    screenshot(page, "admin-audit")

    page.get_by_label("Action").select_option("user_created")
    page.get_by_role("button", name="Filter the log").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    assert_accessible(page, "audit log filtered")

    page.locator("#from-day").fill("31")
    page.locator("#from-month").fill("2")
    page.locator("#from-year").fill("2026")
    page.get_by_role("button", name="Filter the log").click()
    assert_page(page, "Audit log", error=True)
    assert_accessible(page, "audit log with errors")
    screenshot(page, "admin-audit-error")


def test_staff_menu_on_a_phone(page: Page, site: StaffSite) -> None:
    sign_in(page, site, ADMIN, then="/admin/users")
    page.set_viewport_size({"width": 390, "height": 844})
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()  # the menu folds away on a small screen ...
    assert_accessible(page, "users on a phone, menu closed")
    toggle.click()
    menu = page.get_by_role("navigation", name="Staff menu")
    expect(menu.get_by_role("link", name="Audit log")).to_be_visible()  # ... and opens
    expect(menu.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
    assert_accessible(page, "users on a phone, menu open")
    screenshot(page, "admin-users-phone")


def test_staff_import_members_from_a_file(page: Page, site: StaffSite, tmp_path: Path) -> None:
    """The upload form, its error, and the report: keyboard-usable and WCAG 2.2 AA."""
    sign_in(page, site, STAFF, then="/staff/members")
    assert_page(page, "Members")
    assert_accessible(page, "members")
    page.get_by_role("button", name="Import members").click()
    assert_page(page, "Import members")
    assert_accessible(page, "import members")
    page.get_by_role("button", name="Upload and import").click()
    assert_page(page, "Import members", error=True)
    assert_accessible(page, "import members, no file chosen")
    export = tmp_path / "export.csv"
    export.write_text("email,postcode\nann@example.org,PR1 2HE\nnot-an-email,PR1 2HE\n", encoding="utf-8")
    page.get_by_label("Upload a file").set_input_files(str(export))
    page.get_by_role("button", name="Upload and import").click()
    assert_page(page, "Members imported")
    expect(page.locator("table").first).to_contain_text("New members added")
    expect(page.locator("table").nth(1)).to_contain_text("is not an email address")
    assert_accessible(page, "members import report")
    screenshot(page, "staff-members-import-report")
    page.goto(f"{site.url}/staff/members?q=ann")
    expect(page.locator("table").first).to_contain_text("ann@example.org")
    assert_accessible(page, "members search")
    page.get_by_role("link", name="ann@example.org").click()
    assert_page(page, "Member ")
    assert_accessible(page, "a member")
    page.get_by_role("button", name=re.compile("Erase member")).click()
    assert_page(page, "Members")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("has been erased")
    screenshot(page, "staff-members-after-erasure")
