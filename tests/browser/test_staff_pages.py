"""Staff pages in Debian's Chromium: sign in through the form, then axe-core on every staff and admin page.

One `talking serve` for the module (on a fresh SQLite file with an admin, a member of staff and a few
audit events); each test has its own browser context, so its own cookies.
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
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from talking.auth.services import create_token, create_user
from talking.db.engine import create_engine

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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffSite]:
    """`talking serve` on a free port of 127.0.0.1, on a fresh database, for this module."""
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run `npm ci`")
    workdir = tmp_path_factory.mktemp("staff-site")
    shutil.copy(sqlite_template, workdir / "talking.db")
    database_url = f"sqlite+aiosqlite:///{workdir / 'talking.db'}"
    # Playwright's sync API keeps an event loop running in this thread: set up in another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        staff_id = pool.submit(asyncio.run, _accounts(database_url)).result()
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
        yield StaffSite(url=url, staff_id=staff_id)
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


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --- the tests -----------------------------------------------------------------------------------


def test_sign_in_and_out_pass_axe(page: Page, site: StaffSite) -> None:
    page.goto(f"{site.url}/sign-in?next=/account")
    assert_page(page, "Sign in")
    expect(page.locator(".govuk-service-navigation")).to_have_count(0)
    audit(page, "sign-in")

    page.get_by_role("button", name="Sign in").click()
    assert_page(page, "Sign in", error=True)
    audit(page, "sign-in with empty fields")

    page.get_by_label("Email address").fill(STAFF)
    page.get_by_label("Password", exact=True).fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    assert_page(page, "Sign in", error=True)
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a correct email address and password.")
    expect(page.get_by_label("Email address")).to_have_value(STAFF)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    audit(page, "sign-in refused")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/account")
    assert_page(page, "Your account")
    menu = page.get_by_role("navigation", name="Staff menu")
    expect(menu.get_by_role("link")).to_have_text(["Surveys", "Account"])  # no admin links for staff

    menu.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_url(re.compile(r"/sign-in\?signed-out=1$"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You have signed out.")
    assert_page(page, "Sign in")
    audit(page, "signed out")
    page.goto(f"{site.url}/account")
    assert page.url.startswith(f"{site.url}/sign-in?next=")


def test_account_and_token_pages_pass_axe(page: Page, site: StaffSite) -> None:
    sign_in(page, site, STAFF)
    assert_page(page, "Your account")
    audit(page, "account")

    page.get_by_role("button", name="Create token").click()
    assert_page(page, "Your account", error=True)
    audit(page, "account with a token error")

    page.get_by_label("Token name").fill("survey dashboard")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url(f"{site.url}/account/tokens/new")
    assert_page(page, "API token created")
    token = page.get_by_label("Your new token").input_value()
    assert token.startswith("tk_")
    audit(page, "new token")

    page.get_by_role("link", name="Go back to your account").click()
    assert token not in page.content()
    expect(page.locator("tbody tr")).to_have_count(2)
    audit(page, "account with tokens")
    screenshot(page, "staff-account")
    assert httpx.get(f"{site.url}/api/v1/surveys", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    page.get_by_role("button", name="Revoke survey dashboard").click()
    page.wait_for_url(f"{site.url}/account")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("has been revoked")
    audit(page, "account after revoking")
    assert httpx.get(f"{site.url}/api/v1/surveys", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_admin_pages_pass_axe(page: Page, site: StaffSite) -> None:
    sign_in(page, site, ADMIN, then="/admin/users")
    assert_page(page, "Staff accounts")
    menu = page.get_by_role("navigation", name="Staff menu")
    expect(menu.get_by_role("link")).to_have_text(["Surveys", "Account", "Users", "Audit log"])
    expect(menu.get_by_role("link", name="Users")).to_have_attribute("aria-current", "page")
    audit(page, "users")

    page.get_by_role("button", name="Add an account").click()
    page.wait_for_url(f"{site.url}/admin/users/new")
    assert_page(page, "Add a staff account")
    audit(page, "new user")
    page.get_by_label("Email address").fill("not an email")
    page.get_by_label("Initial password", exact=True).fill("short")
    page.get_by_role("button", name="Add account").click()
    assert_page(page, "Add a staff account", error=True)
    expect(page.locator(".govuk-error-summary__list li")).to_have_count(4)
    audit(page, "new user with errors")

    page.get_by_label("Email address").fill("new.analyst@lancashire.test")
    page.get_by_label("Analyst").check()
    page.get_by_label("Initial password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm the initial password").fill(PASSWORD)
    page.get_by_role("button", name="Add account").click()
    page.wait_for_url(re.compile(r"/admin/users/\d+$"))
    assert_page(page, "new.analyst@lancashire.test")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Account created")
    audit(page, "user created")

    page.get_by_label("Staff", exact=True).check()
    page.get_by_role("button", name="Save role").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("is now staff")
    page.get_by_role("button", name="Deactivate account").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("has been deactivated")
    audit(page, "user deactivated")

    page.goto(f"{site.url}/admin/users/1")  # yourself: refusals are shown as errors
    page.get_by_role("button", name="Deactivate account").click()
    assert_page(page, ADMIN, error=True)
    audit(page, "user error")

    page.goto(f"{site.url}/admin/audit")
    assert_page(page, "Audit log")
    expect(page.locator("tbody tr").first).to_contain_text("User deactivated")
    audit(page, "audit log")
    screenshot(page, "admin-audit")

    page.get_by_label("Action").select_option("user_created")
    page.get_by_role("button", name="Filter the log").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    audit(page, "audit log filtered")

    page.locator("#from-day").fill("31")
    page.locator("#from-month").fill("2")
    page.locator("#from-year").fill("2026")
    page.get_by_role("button", name="Filter the log").click()
    assert_page(page, "Audit log", error=True)
    audit(page, "audit log with errors")
    screenshot(page, "admin-audit-error")


def test_staff_menu_on_a_phone(page: Page, site: StaffSite) -> None:
    sign_in(page, site, ADMIN, then="/admin/users")
    page.set_viewport_size({"width": 390, "height": 844})
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()  # the menu folds away on a small screen ...
    audit(page, "users on a phone, menu closed")
    toggle.click()
    menu = page.get_by_role("navigation", name="Staff menu")
    expect(menu.get_by_role("link", name="Audit log")).to_be_visible()  # ... and opens
    expect(menu.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
    audit(page, "users on a phone, menu open")
    screenshot(page, "admin-users-phone")
