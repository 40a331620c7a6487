"""Staff pages for public results: publish or withdraw, add "we did" updates, approve quotes.

Staff and admins only (analysts read reports, they do not publish). Every successful POST commits
and redirects (303); a refused one re-renders its page, 409 when the survey's state does not allow
it, 422 for input that breaks the rules, with a GOV.UK error summary and nothing stored.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.errors import WrongSurveyState
from talking.params import RowId
from talking.reference import districts
from talking.reports.service import ReportCache
from talking.results import member_emails, moderation, services
from talking.results.api import mail_keys, publish_results, withdraw_results
from talking.results.cache import ResultsCache
from talking.results.redaction import redact
from talking.surveys.services import load_surveys
from talking.web.forms import field_messages, form_text
from talking.web.guards import requires
from talking.web.navigation import flash, see_other, take_flash
from talking.web.people import client_ip, principal_of

Req = Request[Any, Any, Any]
PER_PAGE = 20
MAX_PAGE = 100_000


def _by(request: Req) -> dict[str, Any]:
    return {"actor": principal_of(request), "ip": client_ip(request)}


def _done(request: Req, url: str, message: str) -> Redirect:
    results: ResultsCache = request.app.state.results
    results.forget()
    flash(request, message)
    return see_other(url)


async def _hidden_districts(request: Req, db_session: AsyncSession, survey_id: int) -> set[str]:
    """Districts no quote may come from: suppressed in the report now, or in the published figures."""
    reports: ReportCache = request.app.state.reports
    built = await reports.get(survey_id)
    hidden = {d.code for d in built.report.districts if d.suppressed}
    publication = await services.live_publication(db_session, survey_id)
    if publication is not None:
        hidden |= {d.code for d in publication.figures.districts if d.suppressed}
    return hidden


def _row_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**31 else None


class ResultsStaffPages(Controller):
    """Publishing a survey's results, and what staff add to them."""

    path = "/staff/surveys/{survey_id:int}/results"
    include_in_schema = False
    guards: ClassVar[list[Any]] = [requires("staff")]

    async def _results_page(
        self,
        request: Req,
        db_session: AsyncSession,
        survey_id: int,
        *,
        errors: dict[str, str] | None = None,
        form: moderation.UpdateForm | None = None,
        status: int = 200,
    ) -> Template:
        found = await load_surveys(db_session, [survey_id])  # type: ignore[arg-type]
        if not found:
            await services.survey_status(db_session, survey_id)  # raises SurveyNotFound
        survey = found[0]
        publication = await services.live_publication(db_session, survey_id)
        labels = await moderation.issue_labels(db_session, survey_id)
        names = {None: "Lancashire (county-wide)", **{d.code: d.name for d in districts()}}
        return Template(
            "results/staff.html",
            context={
                "survey": survey,
                "publication": publication,
                "next_stage": services.stage_of(survey.status),
                "updates": await moderation.updates_of(db_session, survey_id),
                "issue_labels": labels,
                "area_names": names,
                "all_districts": districts(),
                "form": form or moderation.UpdateForm(),
                "errors": errors or {},
                "flash": take_flash(request),
            },
            status_code=status,
        )

    @get("/")
    async def results(self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId) -> Template:
        """Whether the results are published, the buttons to publish or withdraw, and the updates."""
        return await self._results_page(request, db_session, survey_id)

    @post("/publish")
    async def publish(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Publish (interim or final, by the survey's state); 409 with the reason when it cannot be."""
        try:
            summary = await publish_results(request, db_session, survey_id)
        except WrongSurveyState as exc:
            await db_session.rollback()
            return await self._results_page(request, db_session, survey_id, errors={"publish": str(exc)}, status=409)
        return _done(request, f"/staff/surveys/{survey_id}/results", f"The {summary.stage} results are published")

    @post("/withdraw")
    async def withdraw(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Take the results off the public pages."""
        try:
            await withdraw_results(request, db_session, survey_id)
        except services.NothingPublished:
            await db_session.rollback()
            message = "There are no published results to withdraw"
            return await self._results_page(request, db_session, survey_id, errors={"publish": message}, status=409)
        return _done(request, f"/staff/surveys/{survey_id}/results", "The results are withdrawn")

    @post("/updates")
    async def add_update(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Add what a partner did about an issue."""
        await services.survey_status(db_session, survey_id)
        form = await request.form()
        typed = moderation.UpdateForm(
            **{name: form_text(form, name.replace("_", "-")) for name in moderation.UpdateForm.__struct_fields__}
        )
        try:
            update_id = await moderation.add_update(db_session, survey_id, typed, **_by(request))
        except moderation.UpdateRefused as exc:
            await db_session.rollback()
            return await self._results_page(
                request, db_session, survey_id, errors=field_messages(exc.errors), form=typed, status=422
            )
        await member_emails.announce_update(db_session, update_id, mail_keys(request))
        await db_session.commit()
        return _done(request, f"/staff/surveys/{survey_id}/results", "The update is added")

    @post("/updates/remove")
    async def remove_update(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Take an update off the results."""
        await services.survey_status(db_session, survey_id)
        update_id = _row_id(form_text(await request.form(), "update_id"))
        if update_id is None or not await moderation.remove_update(db_session, survey_id, update_id, **_by(request)):
            await db_session.rollback()
            message = "That update is not on these results (it may have been removed already)"
            return await self._results_page(request, db_session, survey_id, errors={"updates": message}, status=422)
        await db_session.commit()
        return _done(request, f"/staff/surveys/{survey_id}/results", "The update is removed")

    async def _quotes_page(
        self,
        request: Req,
        db_session: AsyncSession,
        survey_id: int,
        page: int,
        *,
        errors: dict[str, str] | None = None,
        typed: dict[int, str] | None = None,
        status: int = 200,
    ) -> Template:
        hidden = await _hidden_districts(request, db_session, survey_id)
        found = await load_surveys(db_session, [survey_id])  # type: ignore[arg-type]
        total, rows = await moderation.comments_to_moderate(
            db_session, survey_id, hidden, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
        names = {d.code: d.name for d in districts()}
        comments = [
            {"id": row.id, "district": names.get(row.district_code, row.district_code), "comment": row.comment,
             "redacted": redact(row.comment)}
            for row in rows
        ]  # fmt: skip
        quotes = await moderation.quotes_of(db_session, survey_id)
        return Template(
            "results/quotes.html",
            context={
                "survey": found[0],
                "comments": comments,
                "typed": typed or {},
                "total": total,
                "page": page,
                "pages": max(1, -(-total // PER_PAGE)),
                "quotes": [(q, names.get(q.district_code, q.district_code), q.district_code in hidden) for q in quotes],
                "hidden": sorted(names[c] for c in hidden if c in names),
                "errors": errors or {},
                "flash": take_flash(request),
            },
            status_code=status,
        )

    @get("/quotes")
    async def quotes(
        self,
        request: Req,
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=MAX_PAGE)] = 1,
    ) -> Template:
        """Comments to moderate, redacted, each with its findings and a box to edit it before approving."""
        return await self._quotes_page(request, db_session, survey_id, page)

    @post("/quotes")
    async def approve(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Approve one comment, as edited, as a quote for the public results."""
        form = await request.form()
        response_id = _row_id(form_text(form, "response_id"))
        page = _row_id(form_text(form, "page")) or 1
        page = min(page, MAX_PAGE)
        if response_id is None:
            errors = {"quotes": "Choose a comment to approve"}
            return await self._quotes_page(request, db_session, survey_id, page, errors=errors, status=422)
        text = form_text(form, f"quote-{response_id}")
        hidden = await _hidden_districts(request, db_session, survey_id)
        try:
            await moderation.approve_quote(db_session, survey_id, response_id, text, hidden, **_by(request))
        except moderation.QuoteRefused as exc:
            await db_session.rollback()
            return await self._quotes_page(
                request, db_session, survey_id, page, errors=field_messages(exc.errors),
                typed={response_id: text}, status=422,
            )  # fmt: skip
        await db_session.commit()
        return _done(request, f"/staff/surveys/{survey_id}/results/quotes?page={page}", "The quote is approved")

    @post("/quotes/remove")
    async def remove_quote(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Take an approved quote off the results."""
        await services.survey_status(db_session, survey_id)
        quote_id = _row_id(form_text(await request.form(), "quote_id"))
        if quote_id is None or not await moderation.remove_quote(db_session, survey_id, quote_id, **_by(request)):
            await db_session.rollback()
            errors = {"quotes": "That quote is not on these results (it may have been removed already)"}
            return await self._quotes_page(request, db_session, survey_id, 1, errors=errors, status=422)
        await db_session.commit()
        return _done(request, f"/staff/surveys/{survey_id}/results/quotes", "The quote is removed")
