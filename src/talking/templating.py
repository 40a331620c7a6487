"""Jinja set-up: our templates first, then govuk-frontend-jinja's under ``govuk_frontend_jinja/``.

The prefix is the package's own name because its templates import each other by it
(``{% from "govuk_frontend_jinja/components/..." import ... %}``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig


def templates_dir() -> Path:
    """Our templates: inside the installed wheel if present, else the repository's ``templates/``."""
    packaged = Path(str(resources.files("talking"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def jinja_environment(template_dir: Path | None = None) -> Environment:
    """The Jinja environment every page renders with."""
    return Environment(
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


def template_config(template_dir: Path | None = None) -> TemplateConfig[JinjaTemplateEngine]:
    """Litestar's template config over our Jinja environment."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(jinja_environment(template_dir)))
