"""Jinja set-up: our templates first, then govuk-frontend-jinja's under ``govuk_frontend_jinja/``.

The prefix is the package's own name because its templates import each other by it
(``{% from "govuk_frontend_jinja/components/..." import ... %}``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig


def templates_dir() -> Path:
    """Our templates: inside the installed wheel if present, else the repository's ``templates/``."""
    packaged = Path(str(resources.files("talking"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


LONDON = ZoneInfo("Europe/London")


def london_time(moment: datetime) -> str:
    """A moment as residents read it, in UK time and GOV.UK style: "5pm on 3 March 2026".

    Midnight is ambiguous, so a survey closing at midnight says "11:59pm" the day before.
    """
    local = moment.astimezone(LONDON)
    if (local.hour, local.minute) == (0, 0):
        local -= timedelta(minutes=1)
    hour = local.hour % 12 or 12
    clock = f"{hour}{local.strftime(':%M') if local.minute else ''}{'am' if local.hour < 12 else 'pm'}"
    if (local.hour, local.minute) == (12, 0):
        clock = "midday"
    return f"{clock} on {local.day} {local.strftime('%B %Y')}"


def jinja_environment(template_dir: Path | None = None) -> Environment:
    """The Jinja environment every page renders with."""
    environment = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(template_dir or templates_dir()),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.filters["london_time"] = london_time
    return environment


def template_config(template_dir: Path | None = None) -> TemplateConfig[JinjaTemplateEngine]:
    """Litestar's template config over our Jinja environment."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja_environment(template_dir)))
