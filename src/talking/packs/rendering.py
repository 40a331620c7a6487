"""A pack as a document: HTML (the one-file report's partials, with the pack's own sections) and PDF.

Everything is drawn from the pack's stored JSON, never from the database, so every format carries
the figures that were frozen. The report's partials (overview, districts, groups, themes, the map)
belong to the report feature; a feature never imports another's page code, so the composition
(app.py, cli.py) hands them in as ``ReportPartials``: reports.html.standalone_context.

The PDF is WeasyPrint on the same HTML with a print stylesheet (A4, contents with page numbers,
a page number on every page). Its URL fetcher fetches nothing but data: URIs and files inside the
package, so making a PDF never reaches another host.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment

from talking.packs import document as docs
from talking.packs.licences import licences
from talking.reports.service import SurveyReport
from talking.templating import jinja_environment

ReportPartials = Callable[[SurveyReport], dict[str, Any]]
PACKAGE_DIR = Path(__file__).resolve().parents[1]


@cache
def _environment() -> Environment:
    return jinja_environment()


def summary(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The county's top five issues: (rank, label, score with its interval), weighted where there is weighting."""
    county = report["county"]
    table = county.get("weighted") or county.get("unweighted")
    if not table:
        return []
    rows = []
    for issue in table["issues"][:5]:
        low, high = issue["score_ci"]
        rows.append((str(issue["rank"]), issue["label"], f"{issue['score']:.1f} ({low:.1f} to {high:.1f})"))
    return rows


def flat_tables(value: Any, path: str = "") -> list[tuple[str, list[str], list[list[str]]]]:
    """Every list of flat records inside value, as (where, headers, rows): sections drawn without knowing them.

    Recorded crime comes from another branch; its figures are shown as they are in the JSON.
    """
    found: list[tuple[str, list[str], list[list[str]]]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += flat_tables(item, f"{path} {key}".strip())
    elif isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        headers = [key for key, cell in value[0].items() if not isinstance(cell, dict | list)]
        if headers:
            rows = [[_cell(row.get(key)) for key in headers] for row in value]
            found.append((path.replace("_", " "), [h.replace("_", " ") for h in headers], rows))
        for i, row in enumerate(value):
            found += flat_tables({k: v for k, v in row.items() if isinstance(v, dict | list)}, f"{path} {i + 1}")
    return found


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}"
    return "" if value is None else str(value)


def render_pack_html(content: bytes, pack_id: int, partials: ReportPartials, *, for_print: bool = False) -> str:
    """The pack as one HTML file (styles inline, no scripts, nothing fetched)."""
    stored = docs.decode(content)
    report = stored["report"]
    crime = report.get("recorded_crime")
    template = _environment().get_template("packs/pack.html")
    return template.render(
        **partials(docs.survey_report_of(stored)),
        pack_id=pack_id,
        pack=stored,
        summary=summary(report),
        crime_tables=flat_tables(crime) if crime else [],
        licences=licences(),
        for_print=for_print,
    )


class PackageFilesOnly:
    """WeasyPrint's fetcher for a pack: data: URIs and the package's own files, nothing from any host."""

    def __init__(self) -> None:
        from weasyprint.urls import URLFetcher

        self._fetcher = URLFetcher(allowed_protocols=("data", "file"))

    def __call__(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return self.fetch(url, *args, **kwargs)

    def fetch(self, url: str, headers: Any = None) -> Any:
        from weasyprint.urls import URLFetchingError

        if url.startswith("file:"):
            path = Path(re.sub(r"^file:(//)?", "", url)).resolve()
            if not path.is_relative_to(PACKAGE_DIR):
                raise URLFetchingError(f"not a file of the package: {url}")
        elif not url.startswith("data:"):
            raise URLFetchingError(f"packs fetch nothing from other hosts: {url}")
        return self._fetcher.fetch(url, headers)


def render_pack_pdf(content: bytes, pack_id: int, partials: ReportPartials) -> bytes:
    """The pack as an A4 PDF with contents and page numbers."""
    from weasyprint import HTML  # pango is loaded only by the first PDF

    html = render_pack_html(content, pack_id, partials, for_print=True)
    return HTML(string=html, base_url=str(PACKAGE_DIR), url_fetcher=PackageFilesOnly()).write_pdf()


class RenderedPacks:
    """Each worker's latest rendered files (HTML, PDF) by pack: a pack never changes, so neither do they.

    A PDF of a full report takes WeasyPrint tens of CPU seconds; partners fetch the same pack many
    times. Concurrent requests for the same file wait for one render. Bounded: the oldest go first.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._files: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._rendering: dict[tuple[int, str], asyncio.Future[bytes]] = {}

    async def get(self, pack_id: int, fmt: str, render: Callable[[], Awaitable[bytes]]) -> bytes:
        key = (pack_id, fmt)
        if key in self._files:
            self._files.move_to_end(key)
            return self._files[key]
        if key in self._rendering:
            return await asyncio.shield(self._rendering[key])
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            content = await render()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no warning when nobody else waited
            raise
        finally:
            del self._rendering[key]
        future.set_result(content)
        self._files[key] = content
        while len(self._files) > self.size:
            self._files.popitem(last=False)
        return content
