"""JSON API v1 for packs: staff freeze a survey's report; analysts (and staff, admins) list and fetch packs.

A pack's JSON is the stored bytes, served as they are; its HTML and PDF are drawn from those bytes.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter
from litestar.response import Response

from talking.openapi import BY_ID, BY_TOKEN, STAFF_SECURITY, problems
from talking.packs import service
from talking.packs.rendering import RenderedPacks, render_pack_html, render_pack_pdf
from talking.packs.schemas import PackMade
from talking.params import RowId
from talking.web.guards import current_principal, requires
from talking.web.people import client_ip

Req = Request[Any, Any, Any]
Format = Literal["json", "html", "pdf"]
MEDIA_TYPES = {"json": "application/json", "html": "text/html", "pdf": "application/pdf"}


async def freeze(request: Req, survey_id: int) -> PackMade:
    """Make a pack of the survey's report as of now, for the API and the page alike."""
    actor = current_principal(request)
    assert actor is not None  # the routes' guards let only staff in
    pack_id, document = await service.make_pack(
        request.app.state.engine,
        survey_id,
        request.app.state.reports.settings,
        made_by=actor.email,
        actor=actor,
        ip=client_ip(request),
        run_cpu=anyio.to_thread.run_sync,
    )
    return PackMade(id=pack_id, fingerprint=document["fingerprint"]["value"])


async def pack_file(request: Req, pack_id: int, fmt: str) -> Response[bytes]:
    """The pack as JSON (its stored bytes), HTML or PDF; 404 for an unknown pack."""
    async with request.app.state.engine.connect() as conn:
        try:
            content = await service.pack_bytes(conn, pack_id)
        except service.PackNotFound as exc:
            raise NotFoundException(str(exc)) from None
    partials = request.app.state.pack_partials
    stored = content

    async def render() -> bytes:
        if fmt == "html":
            return (await anyio.to_thread.run_sync(render_pack_html, stored, pack_id, partials)).encode()
        return await anyio.to_thread.run_sync(render_pack_pdf, stored, pack_id, partials)

    if fmt != "json":
        rendered: RenderedPacks = request.app.state.pack_files
        content = await rendered.get(pack_id, fmt, render)
    name = f"talking-pack-{pack_id}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        content, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": f'{disposition}; filename="{name}"'}
    )


class PackController(Controller):
    """Packs through the API. Bearer tokens act with their user's role."""

    path = "/api/v1"
    tags: ClassVar[list[str]] = ["packs"]
    security = STAFF_SECURITY

    @post(
        "/surveys/{survey_id:int}/packs",
        summary="Freeze the survey's report as a Strategic Assessment pack",
        guards=[requires("staff")],
        status_code=201,
        responses=problems(*BY_TOKEN, *BY_ID, 409),
    )
    async def make(self, request: Req, survey_id: RowId) -> PackMade:
        """The report as of now, with its method and the fingerprint of the answers it used. Staff and admins."""
        return await freeze(request, survey_id)

    @get(
        "/surveys/{survey_id:int}/packs",
        summary="A survey's packs, newest first",
        guards=[requires("analyst")],
        responses=problems(*BY_TOKEN, *BY_ID),
    )
    async def listed(self, request: Req, survey_id: RowId) -> list[service.PackSummary]:
        """Every pack of the survey: id, fingerprint, responses, method version, crime months, who and when."""
        async with request.app.state.engine.connect() as conn:
            return await service.survey_packs(conn, survey_id)

    @get(
        "/packs/{pack_id:int}",
        summary="A pack as JSON (the stored bytes), HTML or PDF",
        guards=[requires("analyst")],
        responses=problems(*BY_TOKEN, *BY_ID, 400),
    )
    async def fetch(
        self,
        request: Req,
        pack_id: RowId,
        fmt: Annotated[Format, QueryParameter(name="format", description="json, html or pdf")] = "json",
    ) -> Response[bytes]:
        """The same bytes every time for JSON; HTML and PDF drawn from them, so every format has the same figures."""
        return await pack_file(request, pack_id, fmt)


def document_pack_formats(document: dict[str, Any]) -> None:
    """The pack's answer in OpenAPI: JSON, HTML or PDF."""
    operation = document.get("paths", {}).get("/api/v1/packs/{pack_id}", {}).get("get")
    if operation is None:
        return
    operation["responses"]["200"] = {
        "description": "The pack, as ?format= asks: JSON (default; the stored document), HTML or PDF.",
        "content": {
            MEDIA_TYPES["json"]: {"schema": {"type": "object"}},
            MEDIA_TYPES["html"]: {"schema": {"type": "string"}},
            MEDIA_TYPES["pdf"]: {"schema": {"type": "string", "format": "binary"}},
        },
        "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
    }
