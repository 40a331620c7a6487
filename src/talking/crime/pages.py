"""Pages for analysts and staff: upload police.uk crime files, read what each import did, see the log.

The upload reads and stores with the same code as `talking crime import`, so the page and the
command refuse the same files for the same reasons. The report is kept in the session and shown
after a redirect (Post/Redirect/Get).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.crime import services
from talking.crime.police_file import UnreadableCrimeFile, read_bytes
from talking.crime.schemas import CrimeImportReport
from talking.web.guards import requires
from talking.web.navigation import see_other
from talking.web.people import client_ip, principal_of
from talking.web.request_bodies import TAKES_UPLOADS
from talking.web.times import staff_time

Req = Request[Any, Any, Any]
CRIME_URL = "/staff/crime"
# A month of the largest force (the Met, about 90,000 rows) is about 20 MB; a year of Lancashire about 40 MB.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
_REPORT = "crime_import_report"


class CrimePages(Controller):
    """Recorded crime for analysts, staff and admins: the import log, uploading a file, its report."""

    include_in_schema = False
    guards: ClassVar = [requires("analyst")]

    async def _form(self, db: AsyncSession, error: str | None = None) -> Template:
        log = await services.import_log(db)
        return Template(
            "crime/import.html",
            context={"errors": {"file": error} if error else {}, "log": log, "when": staff_time},
            status_code=422 if error else 200,
        )

    @get(CRIME_URL)
    async def crime_page(self, db_session: NamedDependency[AsyncSession]) -> Template:
        """The files imported so far, and the form to upload another."""
        return await self._form(db_session)

    @post(CRIME_URL, request_max_body_size=MAX_UPLOAD_BYTES, opt={TAKES_UPLOADS: True})
    async def upload(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
        """Read the file; store its months (replacing any imported before) and show the report."""
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._form(db_session, "Select a police.uk CSV file to upload")
        name = upload.filename[:200]
        try:
            found = read_bytes(await upload.read())
        except UnreadableCrimeFile as exc:
            return await self._form(db_session, f"{name}: {exc}. Nothing was imported")
        report = await services.store_file(
            db_session, found, name, via="upload", actor=principal_of(request), ip=client_ip(request)
        )
        await db_session.commit()
        request.session[_REPORT] = msgspec.to_builtins(report)
        return see_other(f"{CRIME_URL}/report")

    @get(f"{CRIME_URL}/report")
    async def import_report(self, request: Req) -> Template | Redirect:
        """What the last upload did: months, rows stored, outside the 14 areas, without a location, refused."""
        kept = request.session.get(_REPORT) if isinstance(request.session, dict) else None
        if not isinstance(kept, dict):
            return see_other(CRIME_URL)
        try:
            report = msgspec.convert(kept, CrimeImportReport)
        except msgspec.ValidationError:
            return see_other(CRIME_URL)
        return Template("crime/import_report.html", context={"report": report}, headers={"Cache-Control": "no-store"})
