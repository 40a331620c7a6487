"""The overview's map in Debian's Chromium: axe-core (WCAG 2.2 AA), 14 shapes drawn and visible with a fill
per class, every district reached by Tab with a visible focus, and the issue picked without JavaScript.

It shares test_report_pages.py's site: ten districts with answers (Wyre suppressed, South Ribble hidden
for Wyre's sake), four with none. A screenshot of the map goes to TALKING_SCREENSHOTS (default
/tmp/talking-screenshots) and its path is printed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import SCREENSHOTS, assert_accessible, screenshot
from .test_report_pages import PHONE, PRESTON, ReportSite, signed_in, site

pytestmark = pytest.mark.browser
__all__ = ["site"]  # the module's live server, shared with the report pages' tests

FOCUS_YELLOW = "rgb(255, 221, 0)"

# For each district shape: its accessible name, fill, box on screen, and whether the browser finds that
# very shape under a point inside it (so no neighbour or label covers it).
SHAPES = """map => [...map.querySelectorAll('a.talking-map__area')].map(link => {
  const path = link.querySelector('path');
  const box = path.getBBox();
  const matrix = path.getScreenCTM();
  let onTop = false;
  for (let i = 1; i < 20 && !onTop; i++) for (let j = 1; j < 20 && !onTop; j++) {
    const point = new DOMPoint(box.x + box.width * i / 20, box.y + box.height * j / 20);
    if (!path.isPointInFill(point)) continue;
    const screen = point.matrixTransform(matrix);
    onTop = document.elementFromPoint(screen.x, screen.y) === path;
  }
  const r = path.getBoundingClientRect();
  return {name: link.getAttribute('aria-label'), fill: getComputedStyle(path).fill,
          box: [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)], onTop};
})"""


def map_table(page: Page) -> dict[str, tuple[str, str]]:
    """District name -> (figure, shade in words), from the table beside the map."""
    rows = page.locator("#issue-map-table tbody tr")
    found = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("th, td").all_inner_texts()
        found[cells[0].strip()] = (cells[1].strip().splitlines()[0], cells[2].strip())  # the figure, not its note
    return found


def test_the_map_draws_fourteen_shapes_with_a_fill_per_class(browser: Browser, site: ReportSite) -> None:
    context = signed_in(browser, site, javascript=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{site.url}/staff/surveys/{site.first}/report")
        assert_accessible(page, "overview with its map")
        the_map = page.locator("svg#issue-map")
        the_map.scroll_into_view_if_needed()
        shapes = the_map.evaluate(SHAPES)
        assert len(shapes) == 14
        assert len({tuple(s["box"]) for s in shapes}) == 14, "two districts drawn in the same place"
        assert all(s["box"][2] > 5 and s["box"][3] > 5 for s in shapes), shapes
        assert all(s["onTop"] for s in shapes), [s["name"] for s in shapes if not s["onTop"]]
        table = map_table(page)
        fills: dict[str, str] = {}
        for shape in shapes:
            name = shape["name"].split(":")[0]
            figure, shade = table[name]
            assert shape["name"].startswith(f"{name}: {figure.lower() if not figure[0].isdigit() else figure}")
            # One fill per legend line: different classes never share a fill, the same class always does.
            assert fills.setdefault(shade, shape["fill"]) == shape["fill"], (name, shade)
        assert len(set(fills.values())) == len(fills) >= 4  # several classes, hatched and dotted among them
        assert table["Wyre"][1] == "Hatched: suppressed" and table["Lancaster"][1] == "Dotted: no answers"
        west_lancashire = page.locator("#issue-map-table tr", has_text="West Lancashire")
        expect(west_lancashire).to_contain_text("Small base, under 30: read with care")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / "report-map.png"
        page.locator("#map ~ .govuk-grid-row").first.screenshot(path=str(shot))
        print(f"\nThe map's screenshot: {shot}")
    finally:
        context.close()


def test_every_district_is_reached_by_tab_with_a_visible_focus(browser: Browser, site: ReportSite) -> None:
    context = signed_in(browser, site, javascript=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{site.url}/staff/surveys/{site.first}/report")
        names = page.locator("svg#issue-map a").evaluate_all("links => links.map(a => a.getAttribute('aria-label'))")
        page.get_by_role("button", name="Show on the map").focus()
        reached = []
        for _ in names:
            page.keyboard.press("Tab")
            focused = page.evaluate(
                """() => { const a = document.activeElement, path = a.querySelector('path');
                   return [a.getAttribute('aria-label'), path && getComputedStyle(path).fill,
                           path && getComputedStyle(path).stroke, path && getComputedStyle(path).strokeWidth]; }"""
            )
            reached.append(focused[0])
            assert focused[1:] == [FOCUS_YELLOW, "rgb(11, 12, 12)", "4px"], focused
        assert reached == names and len(reached) == 14
        screenshot(page, "report-map-focus-last-district")
        # Back to Preston by keyboard, and Enter opens its page.
        for _ in range(names.index(next(n for n in names if n.startswith("Preston:"))), len(names) - 1):
            page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Preston:")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/districts/{PRESTON}$"))
        expect(page.locator("h1")).to_have_text("Preston")
    finally:
        context.close()


def test_an_issue_is_picked_without_javascript_on_a_phone(browser: Browser, site: ReportSite) -> None:
    context = signed_in(browser, site, javascript=False, **PHONE)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/staff/surveys/{site.first}/report")
        options = page.locator("select#issue option").all_inner_texts()
        assert page.locator("select#issue").input_value() != ""
        page.get_by_label("Issue to map").select_option(label=options[-1])
        page.get_by_role("button", name="Show on the map").click()
        page.wait_for_url(re.compile(r"\?issue=[a-z-]+#map$"))
        expect(page.locator("#issue-map-heading")).to_have_text(
            re.compile("^" + re.escape(options[-1]) + ": priority score")
        )
        assert page.locator("select#issue option:checked").inner_text() == options[-1]
        assert_accessible(page, "overview mapping another issue, on a phone")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"the map page scrolls sideways on a phone: {widths}"
        screenshot(page, "report-map-phone")
        page.goto(f"{site.url}/staff/surveys/{site.first}/report?issue=nonsense")
        expect(page.locator(".govuk-error-summary")).to_contain_text("Choose an issue from the list")
        assert_accessible(page, "overview with an unknown issue")
    finally:
        context.close()
