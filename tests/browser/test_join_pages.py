"""A resident joins the panel, confirms from the email, and manages their details, in Debian's Chromium:
without JavaScript, on a phone's screen, every page (error states included) checked by axe-core."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from email.policy import default
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import assert_accessible, site_on

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


async def _nothing(_database_url: str) -> None:
    return None


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`talking serve` on a fresh database; its emails land as .eml files under its var/mail."""
    workdir = tmp_path_factory.mktemp("join")
    with site_on(sqlite_template, workdir, _nothing) as (url, _):
        yield url, workdir / "var" / "mail"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized browser with JavaScript off: the pages must work without it."""
    context = browser.new_context(java_script_enabled=False, **PHONE)
    auditor = browser.new_context(bypass_csp=True, **PHONE).new_page()
    page = context.new_page()
    page.auditor = auditor  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        auditor.context.close()
        context.close()


def check(page: Page, heading: str, *, error: bool = False) -> None:
    """The page has this heading, an error summary when expected, and no WCAG 2.2 AA violations."""
    expect(page.locator("h1")).to_have_text(heading)  # waits for the navigation a click started
    assert page.locator(".govuk-error-summary").count() == (1 if error else 0), page.url
    # axe needs JavaScript (its timers never fire with it off): it checks the same HTML, without the
    # page's scripts (as the resident's browser ran none), in a phone-sized page with JavaScript on.
    html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.S)
    html = re.sub(r"(<head[^>]*>)", lambda m: f'{m.group(1)}<base href="{page.url}">', html, count=1)
    auditor: Page = page.auditor  # type: ignore[attr-defined]
    auditor.set_content(html, wait_until="load")
    assert_accessible(auditor, heading)
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], page.url


def latest_email(mail_dir: Path, to: str) -> email.message.EmailMessage:
    """The newest .eml the server wrote to this address (waiting for its sender to write it)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            if message["To"] == to:
                return message  # type: ignore[return-value]
        time.sleep(0.1)
    raise AssertionError(f"no email to {to} in {mail_dir}")


def link(message: email.message.EmailMessage, path: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    [found] = [url for url in re.findall(r"https?://\S+", text) if path in url]
    return found


def test_join_confirm_and_manage_on_a_phone_without_javascript(phone: Page, site: tuple[str, Path]) -> None:
    url, mail_dir = site
    page = phone
    page.goto(url + "/join")
    check(page, "Join the resident panel")
    page.get_by_role("button", name="Start now").click()
    check(page, "What is your email address?")
    page.get_by_role("button", name="Continue").click()
    check(page, "What is your email address?", error=True)
    page.get_by_label("What is your email address?").fill("browser.resident@example.org")
    page.get_by_role("button", name="Continue").click()
    check(page, "Where do you live?")
    page.get_by_label("Your postcode").fill("SW1A 1AA")
    page.get_by_role("button", name="Continue").click()
    check(page, "Where do you live?", error=True)
    page.get_by_label("Your postcode").fill("pr12he")
    page.get_by_role("button", name="Continue").click()
    check(page, "About you")
    page.get_by_label("35 to 44").check()
    page.get_by_role("button", name="Continue").click()
    check(page, "How we use your details")
    page.get_by_role("button", name="Continue").click()
    check(page, "How we use your details", error=True)
    page.get_by_label("I agree to the privacy notice").check()
    page.get_by_label("Email me when results are published").check()
    page.get_by_role("button", name="Continue").click()
    check(page, "Check your answers before joining")
    assert "Email me when results are published" in page.locator(".govuk-summary-list").inner_text()
    page.get_by_role("button", name="Join the panel").click()
    check(page, "Check your email")

    confirm = link(latest_email(mail_dir, "browser.resident@example.org"), "/join/confirm/")
    page.goto(confirm)
    check(page, "Confirm you want to join the resident panel")
    page.get_by_role("button", name="Confirm").click()
    check(page, "You have joined the resident panel")
    page.goto(confirm)
    check(page, "You have already confirmed")

    page.goto(link(latest_email(mail_dir, "browser.resident@example.org"), "/members/you?token="))
    check(page, "Your details on the resident panel")
    page.get_by_role("link", name="Change the area you live in").click()
    check(page, "Where do you live now?")
    page.get_by_label("Blackpool").check()
    page.get_by_role("button", name="Save").click()
    check(page, "Your details on the resident panel")
    assert "Your area is now Blackpool." in page.locator(".govuk-notification-banner").inner_text()
    page.get_by_role("link", name="Change your age").click()
    check(page, "About you")
    page.get_by_label("Prefer not to say").first.check()
    page.get_by_role("button", name="Save").click()
    check(page, "Your details on the resident panel")
    page.get_by_role("link", name="Change whether we email you when results are published").click()
    check(page, "Emails about results")
    assert page.get_by_label("Email me when results are published").is_checked()
    page.get_by_label("Email me when results are published").uncheck()
    page.get_by_role("button", name="Save").click()
    check(page, "Your details on the resident panel")
    assert (
        "We will not email you when results are published." in page.locator(".govuk-notification-banner").inner_text()
    )
    page.get_by_role("button", name="Unsubscribe").click()
    check(page, "Your details on the resident panel")
    page.get_by_role("button", name="Delete my details").click()
    check(page, "Are you sure you want to delete your details?")
    page.get_by_role("button", name="Delete my details").click()
    check(page, "Your details have been deleted")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/join/confirm/not-a-real-link", "This link does not work"),
        ("/members/you?token=not-a-real-link", "This link does not work"),
        ("/members/you?token=MTIzNA.aXRhZw.x", "This link does not work"),
        ("/i/" + "x" * 43 + "/details", "We cannot find your details"),
    ],
)
def test_bad_links_say_what_to_do(phone: Page, site: tuple[str, Path], path: str, heading: str) -> None:
    phone.goto(site[0] + path)
    check(phone, heading)
