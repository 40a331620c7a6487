"""Staff pages for the panel: upload the messaging service's export and read what the import did.

The upload runs the same reading and the same service as `talking members import`, so the page
and the command refuse the same rows for the same reasons. The report is kept in the staff
member's session and shown after a redirect (Post/Redirect/Get), its refused rows capped so a
session never holds a whole bad file: the command lists every one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.members import services
from talking.members.member_file import UnreadableFile, read_text_file
from talking.members.schemas import ImportReport
from talking.web.guards import requires
from talking.web.navigation import see_other
from talking.web.people import client_ip, principal_of
from talking.web.request_bodies import TAKES_UPLOADS

Req = Request[Any, Any, Any]
IMPORT_URL = "/staff/members/import"
# An export of 80,000 members is about 4 MB; well above that is not a member list.
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
# Refused rows kept in the session for the report page.
SHOWN_REFUSALS = 200
_REPORT = "members_import_report"


class MemberPages(Controller):
    """Importing members from a file, for staff and admins."""

    include_in_schema = False
    guards: ClassVar = [requires("staff")]

    @staticmethod
    def _form(error: str | None = None, *, dry_run: bool = False) -> Template:
        return Template(
            "members/import.html",
            context={"errors": {"file": error} if error else {}, "dry_run": dry_run},
            status_code=422 if error else 200,
        )

    @get(IMPORT_URL)
    async def import_form(self) -> Template:
        """Choose the file, and whether only to check it."""
        return self._form()

    @post(IMPORT_URL, request_max_body_size=MAX_UPLOAD_BYTES, opt={TAKES_UPLOADS: True})
    async def import_upload(self, request: Req, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
        """Read the file; import it (or check it) and show the report."""
        form = await request.form()
        upload, dry_run = form.get("file"), form.get("dry_run") == "yes"
        if not isinstance(upload, UploadFile) or not upload.filename:
            return self._form("Select a CSV file to upload", dry_run=dry_run)
        try:
            _count, rows = read_text_file(await upload.read())
            report = await services.import_members(
                db_session, rows, dry_run=dry_run, actor=principal_of(request), ip=client_ip(request)
            )
        except UnreadableFile as exc:
            await db_session.rollback()
            return self._form(f"{upload.filename}: {exc}; nothing was imported", dry_run=dry_run)
        await db_session.commit()
        kept = msgspec.structs.replace(report, refused=report.refused[:SHOWN_REFUSALS])
        request.session[_REPORT] = {
            "report": msgspec.to_builtins(kept),
            "refused": len(report.refused),
            "file": upload.filename[:200],
        }
        return see_other(f"{IMPORT_URL}/report")

    @get(f"{IMPORT_URL}/report")
    async def import_report(self, request: Req) -> Template | Redirect:
        """What the last import did: the summary, and each refused row with its line and why."""
        kept = request.session.get(_REPORT) if isinstance(request.session, dict) else None
        if not isinstance(kept, dict):
            return see_other(IMPORT_URL)
        report = msgspec.convert(kept["report"], ImportReport)
        return Template(
            "members/import_report.html",
            context={"report": report, "refused": kept["refused"], "file": kept["file"], "shown": SHOWN_REFUSALS},
            headers={"Cache-Control": "no-store"},
        )
