"""Resident pages: one question per page, GOV.UK patterns, no JavaScript needed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from talking.surveys.services import SurveyCatalogue


class ResidentPages(Controller):
    """The home page and the survey journey."""

    include_in_schema = False

    @get("/", name="home")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        """List the surveys residents can answer now."""
        catalogue: SurveyCatalogue = request.app.state.catalogue
        return Template("surveys/home.html", context={"surveys": await catalogue.list_open()})
