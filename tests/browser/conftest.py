"""Browser-test plumbing shared by every module: Debian's Chromium, axe-core, and a live site."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from ..conftest import live_server

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling hosts this closed network refuses.
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


# Module scope, not session: Playwright's sync API holds an event loop on the main thread while it
# runs, and the async tests that follow the browser modules need that thread's loop free.
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
    """A fresh browser context (no cookies) and a page in it; axe can be injected past the page's CSP."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def assert_accessible(page: Page, label: str) -> None:
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


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot to look at (TALKING_SCREENSHOTS, default /tmp/talking-screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@contextmanager
def site_on(sqlite_template: Path, workdir: Path, prepare: Callable[[str], Awaitable[T]]) -> Iterator[tuple[str, T]]:
    """`talking serve` on a fresh copy of the migrated database, after ``prepare(database_url)`` fills it."""
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run `npm ci`")
    shutil.copy(sqlite_template, workdir / "talking.db")
    database_url = f"sqlite+aiosqlite:///{workdir / 'talking.db'}"
    # Playwright's sync API keeps an event loop running in this thread: set up in another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        prepared = pool.submit(asyncio.run, prepare(database_url)).result()
    with live_server(database_url, workdir) as server:
        yield server.url, prepared
