"""Staff API: publish a survey's results (201) and withdraw them (204)."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, delete, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from talking.openapi import BY_ID, BY_TOKEN, STAFF_SECURITY, problems
from talking.params import RowId
from talking.reports.service import ReportCache
from talking.results import member_emails, services
from talking.results.cache import ResultsCache
from talking.results.schemas import PublishedSummary
from talking.web.guards import current_principal, requires
from talking.web.people import client_ip

STAFF = requires("staff")


def mail_keys(request: Request[Any, Any, Any]) -> member_emails.MailKeys:
    """The site's address and signing key, for the links in emails to members."""
    settings = request.app.state.settings
    return member_emails.MailKeys(settings.base_url, settings.secret_key)


async def publish_results(
    request: Request[Any, Any, Any], db_session: AsyncSession, survey_id: int
) -> PublishedSummary:
    """Build the report (outside the transaction), freeze its public figures, queue the emails to members
    who asked (member_emails), commit, refresh this worker's cache.

    Shared by the API and the staff page; raises SurveyNotFound and WrongSurveyState.
    """
    reports: ReportCache = request.app.state.reports
    built = await reports.get(survey_id)
    summary = await services.publish(db_session, built, actor=current_principal(request), ip=client_ip(request))
    await member_emails.announce_results(db_session, survey_id, summary.stage, mail_keys(request))
    await db_session.commit()
    results: ResultsCache = request.app.state.results
    results.forget()
    return summary


async def withdraw_results(request: Request[Any, Any, Any], db_session: AsyncSession, survey_id: int) -> None:
    """Withdraw, commit, refresh this worker's cache; NothingPublished when there was nothing to withdraw."""
    await services.withdraw(db_session, survey_id, actor=current_principal(request), ip=client_ip(request))
    await db_session.commit()
    results: ResultsCache = request.app.state.results
    results.forget()


class ResultsController(Controller):
    """Publishing results through the API, with a staff token."""

    path = "/api/v1/surveys"
    tags: ClassVar[list[str]] = ["results"]
    security = STAFF_SECURITY

    @post(
        "/{survey_id:int}/results",
        summary="Publish the survey's results (interim while it is open, final once closed)",
        status_code=HTTP_201_CREATED,
        guards=[STAFF],
        responses=problems(*BY_TOKEN, *BY_ID, 409),
    )
    async def publish(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> PublishedSummary:
        """409 for a draft, a survey with no answers, or final results already published."""
        return await publish_results(request, db_session, survey_id)

    @delete(
        "/{survey_id:int}/results",
        summary="Withdraw the survey's published results",
        status_code=HTTP_204_NO_CONTENT,
        guards=[STAFF],
        responses=problems(*BY_TOKEN, *BY_ID),
    )
    async def withdraw(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> None:
        """404 for an unknown survey or one with no published results."""
        try:
            await withdraw_results(request, db_session, survey_id)
        except services.NothingPublished as exc:
            raise NotFoundException("This survey has no published results to withdraw") from exc
