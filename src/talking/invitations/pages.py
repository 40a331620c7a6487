"""Staff pages to send a members survey's invitations and reminders: each a confirmation page and its POST.

The survey's page (questionnaires) links here; the rules are the services' (services.py). Refusals
re-render the confirmation page: 422 for a form that cannot be used, 409 when the survey's state
does not allow the round. A successful round commits, then redirects (303) to the survey's page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.errors import InvalidResponse, SurveyNotFound, WrongSurveyState
from talking.invitations import services
from talking.params import RowId
from talking.reference import districts_by_code
from talking.settings import Settings
from talking.surveys.schemas import Survey
from talking.surveys.services import load_surveys
from talking.web.guards import requires
from talking.web.navigation import flash, see_other
from talking.web.people import client_ip, principal_of

Req = Request[Any, Any, Any]
SURVEY = "/surveys/{survey_id:int}"


async def _load(db_session: AsyncSession, survey_id: int) -> Survey:
    found = await load_surveys(db_session, [survey_id])  # type: ignore[arg-type]
    if not found:
        raise SurveyNotFound(survey_id)
    return found[0]


def _mail_settings(request: Req) -> dict[str, str]:
    settings: Settings = request.app.state.settings
    return {"base_url": settings.base_url, "secret_key": settings.secret_key}


class InvitationPages(Controller):
    """Send invitations and reminders for a members survey (staff and admins)."""

    path = "/staff"
    include_in_schema = False
    guards: ClassVar = [requires("staff")]

    async def _invite_page(
        self,
        db_session: AsyncSession,
        survey: Survey,
        *,
        ticked: list[str] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        covered = survey.districts or tuple(districts_by_code())
        names = districts_by_code()
        problem = None
        count = 0
        try:
            services.check_can_mail(survey, datetime.now(UTC))
            count = await services.invitable_count(db_session, survey)
        except WrongSurveyState as exc:
            problem = str(exc)
        return Template(
            "invitations/send.html",
            context={
                "survey": survey,
                "districts": sorted((names[code] for code in covered if code in names), key=lambda d: d.name),
                "ticked": list(covered) if ticked is None else ticked,
                "count": count,
                "problem": (errors or {}).get("actions", problem),
                "errors": {k: v for k, v in (errors or {}).items() if k != "actions"},
            },
            status_code=status,
        )

    @get(SURVEY + "/invitations")
    async def confirm_invitations(self, db_session: NamedDependency[AsyncSession], survey_id: RowId) -> Template:
        """How many members would be invited, the districts to choose from, and the button."""
        return await self._invite_page(db_session, await _load(db_session, survey_id))

    @post(SURVEY + "/invitations")
    async def send_invitations(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Send the round, then go back to the survey's page."""
        survey = await _load(db_session, survey_id)
        form = await request.form()
        ticked = [v for v in form.getall("districts", []) if isinstance(v, str)]
        try:  # the survey's state first: no district choice makes an open survey take invitations
            services.check_can_mail(survey, datetime.now(UTC))
        except WrongSurveyState as exc:
            return await self._invite_page(db_session, survey, ticked=ticked, errors={"actions": str(exc)}, status=409)
        if not ticked:
            errors = {"districts": "Choose at least one district to invite"}
            return await self._invite_page(db_session, survey, ticked=[], errors=errors, status=422)
        everywhere = set(ticked) == set(survey.districts or districts_by_code())
        try:
            invited = await services.send_invitations(
                db_session,
                survey_id,
                districts=None if everywhere else ticked,
                actor=principal_of(request),
                ip=client_ip(request),
                **_mail_settings(request),
            )
        except InvalidResponse as exc:
            errors = {"districts": exc.errors[0].message}
            return await self._invite_page(db_session, survey, ticked=ticked, errors=errors, status=422)
        except WrongSurveyState as exc:
            errors = {"actions": str(exc)}
            return await self._invite_page(db_session, survey, ticked=ticked, errors=errors, status=409)
        await db_session.commit()
        flash(request, _invited_words(invited))
        return see_other(f"/staff/surveys/{survey_id}#invitations")

    async def _remind_page(
        self, db_session: AsyncSession, survey: Survey, *, problem: str | None = None, status: int = 200
    ) -> Template:
        count = 0
        try:
            services.check_can_mail(survey, datetime.now(UTC), "reminders")
            count = await services.remindable_count(db_session, survey.id)
        except WrongSurveyState as exc:
            problem = problem or str(exc)
        return Template(
            "invitations/remind.html",
            context={
                "survey": survey,
                "count": count,
                "problem": problem,
                "gap_days": services.REMINDER_GAP.days,
                "max_reminders": services.MAX_REMINDERS,
            },
            status_code=status,
        )

    @get(SURVEY + "/reminders")
    async def confirm_reminders(self, db_session: NamedDependency[AsyncSession], survey_id: RowId) -> Template:
        """How many invitees would be reminded, and the button."""
        return await self._remind_page(db_session, await _load(db_session, survey_id))

    @post(SURVEY + "/reminders")
    async def send_reminders(
        self, request: Req, db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> Template | Redirect:
        """Send the round, then go back to the survey's page."""
        survey = await _load(db_session, survey_id)
        try:
            reminded = await services.send_reminders(
                db_session, survey_id, actor=principal_of(request), ip=client_ip(request), **_mail_settings(request)
            )
        except WrongSurveyState as exc:
            return await self._remind_page(db_session, survey, problem=str(exc), status=409)
        await db_session.commit()
        flash(request, f"{reminded:,} {'reminder' if reminded == 1 else 'reminders'} sent")
        return see_other(f"/staff/surveys/{survey_id}#invitations")


def _invited_words(invited: int) -> str:
    if not invited:
        return "Nobody new to invite: every member in those districts has an invitation already"
    return f"{invited:,} {'invitation' if invited == 1 else 'invitations'} sent"
