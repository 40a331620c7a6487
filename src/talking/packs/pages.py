"""Packs for signed-in people: a survey's packs (analysts up), the freeze button (staff up), the files.

The API takes tokens only, so signed-in people fetch a pack's files here, drawn the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response, Template

from talking.packs import service
from talking.packs.api import freeze, pack_file
from talking.params import RowId
from talking.principal import Principal
from talking.web.guards import current_principal, requires
from talking.web.navigation import flash, see_other, take_flash

Req = Request[Any, Any, Any]


class PackPages(Controller):
    """A survey's packs and each pack's files."""

    path = "/staff"
    include_in_schema = False
    guards: ClassVar[list[Any]] = [requires("analyst")]

    @get("/surveys/{survey_id:int}/packs")
    async def listed(self, request: Req, survey_id: RowId) -> Template:
        """The survey's packs, newest first, and (for staff) the button that makes one."""
        async with request.app.state.engine.connect() as conn:
            packs = await service.survey_packs(conn, survey_id)
            title = await service.survey_title(conn, survey_id)
        principal: Principal | None = current_principal(request)
        context = {
            "survey_id": survey_id,
            "title": title,
            "packs": packs,
            "can_make": principal is not None and principal.can("staff"),
            "flash": take_flash(request),
        }
        return Template("packs/list.html", context=context)

    @post("/surveys/{survey_id:int}/packs", guards=[requires("staff")], status_code=303)
    async def make(self, request: Req, survey_id: RowId) -> Redirect:
        """Freeze the report now, then back to the list with the new pack named."""
        made = await freeze(request, survey_id)
        flash(request, f"Pack {made.id} made: fingerprint {made.fingerprint[:12]}")
        return see_other(f"/staff/surveys/{survey_id}/packs")

    @get("/packs/{pack_id:int}/json")
    async def json(self, request: Req, pack_id: RowId) -> Response[bytes]:
        """The pack's stored document."""
        return await pack_file(request, pack_id, "json")

    @get("/packs/{pack_id:int}/html")
    async def html(self, request: Req, pack_id: RowId) -> Response[bytes]:
        """The pack as one HTML file."""
        return await pack_file(request, pack_id, "html")

    @get("/packs/{pack_id:int}/pdf")
    async def pdf(self, request: Req, pack_id: RowId) -> Response[bytes]:
        """The pack as a PDF."""
        return await pack_file(request, pack_id, "pdf")
