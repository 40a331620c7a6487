"""The whole report as one self-contained HTML file, for `talking report ID --format html`.

It renders the analyst pages' partials with links to its own sections, and inlines the compiled
stylesheet (with the few images it names as data: URIs), so it opens anywhere, offline, and
makes no request of its own. It carries no script.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment
from markupsafe import Markup

from talking.reports import findings, views
from talking.reports.crime_view import crime_view
from talking.reports.exports import method_rows
from talking.reports.overview import overview_view
from talking.reports.service import SurveyReport
from talking.templating import jinja_environment
from talking.web.times import london_time

# Built by scripts/build_assets.py (served by the app at /assets/).
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
_ASSET_URL = re.compile(r"""url\(["']?/assets/([^"')]+)["']?\)""")
_MEDIA = {".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".woff2": "font/woff2"}


@cache
def _environment() -> Environment:
    return jinja_environment()


def inline_css(static_dir: Path = STATIC_DIR) -> str:
    """The compiled stylesheet, its /assets/ URLs turned into data: URIs (dropped if the file is missing)."""
    path = static_dir / "talking.css"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build it with `python scripts/build_assets.py`")
    css = path.read_text(encoding="utf-8")

    def data_uri(found: re.Match[str]) -> str:
        asset = static_dir / found.group(1)
        if not asset.is_file() or asset.suffix not in _MEDIA:
            return "none"
        encoded = base64.b64encode(asset.read_bytes()).decode("ascii")
        return f'url("data:{_MEDIA[asset.suffix]};base64,{encoded}")'

    # "</" cannot close the <style> element early: CSS has no use for it outside strings.
    return _ASSET_URL.sub(data_uri, css).replace("</", "<\\/")


def standalone_context(built: SurveyReport) -> dict[str, object]:
    """What the one-file report's template takes (css, ov, districts, gv, tv, cv, links); packs render with it too."""
    links = views.Links(None)
    # The file has room for the whole method, not just the summary the page shows first.
    full = [(str(item), "" if value is None else str(value)) for item, value in method_rows(built) if item != "note"]
    overview = dataclasses.replace(overview_view(built), method=full)
    return {
        "css": Markup(inline_css()),  # noqa: S704 (our own compiled stylesheet, not user input)
        "ov": overview,
        "districts": [views.district_view(built, d) for d in built.report.districts],
        "gv": findings.groups_view(built),
        "tv": findings.themes_view(built),
        "cv": None if built.recorded_crime is None else crime_view(built.recorded_crime),
        "links": links,
    }


def render_report_html(built: SurveyReport) -> str:
    """One HTML file: overview, every district, groups, themes and the method with its notes."""
    template = _environment().get_template("reports/standalone.html")
    return template.render(**standalone_context(built), made=london_time(datetime.now(UTC)))
