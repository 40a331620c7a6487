"""JSON API v1 for staff: create, publish, close and copy questionnaires."""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from talking.errors import SurveyNotFound
from talking.openapi import BY_BODY, BY_ID, BY_TOKEN, STAFF_SECURITY, problems
from talking.params import RowId
from talking.questionnaires import progress, services
from talking.questionnaires.schemas import DistrictCount, SurveyCreate, SurveyCreated, SurveySummary
from talking.surveys.services import SurveyCatalogue
from talking.web.guards import current_principal, requires
from talking.web.people import client_ip
from talking.web.request_bodies import MAX_DEFINITION_BODY_BYTES

STAFF = requires("staff")
ANALYST = requires("analyst")


class QuestionnaireController(Controller):
    """Staff actions on surveys. Bearer tokens act with their user's role."""

    path = "/api/v1/surveys"
    tags: ClassVar[list[str]] = ["questionnaires"]
    security = STAFF_SECURITY
    request_max_body_size = MAX_DEFINITION_BODY_BYTES
    # Guards per handler: Litestar applies a controller's guards on top of a handler's, so a
    # controller-wide staff guard would shut analysts out of the counts.

    @get(
        "/",
        summary="Every survey, newest first, with response counts",
        guards=[STAFF],
        responses=problems(*BY_TOKEN),
    )
    async def list_surveys(self, db_session: NamedDependency[AsyncSession]) -> list[SurveySummary]:
        """All surveys in every state."""
        return await progress.list_surveys(db_session)

    @post(
        "/",
        summary="Create a draft survey",
        status_code=HTTP_201_CREATED,
        guards=[STAFF],
        responses=problems(*BY_TOKEN, *BY_BODY),
    )
    async def create_survey(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], data: JSONBody[SurveyCreate]
    ) -> SurveyCreated:
        """Save a draft; publish it when it is ready."""
        survey_id = await services.create_survey(db_session, data, **_by(request))
        return SurveyCreated(id=survey_id, status="draft")

    @put(
        "/{survey_id:int}/definition",
        summary="Replace a draft's definition",
        status_code=HTTP_200_OK,
        guards=[STAFF],
        responses=problems(*BY_TOKEN, *BY_ID, *BY_BODY, 409),
    )
    async def update_survey(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
        data: JSONBody[SurveyCreate],
    ) -> SurveySummary:
        """Edit a draft (409 once published: its questions are locked)."""
        await services.update_draft(db_session, survey_id, data, **_by(request))
        return await progress.survey_summary(db_session, survey_id)

    @post(
        "/{survey_id:int}/publish",
        summary="Publish a draft",
        status_code=HTTP_200_OK,
        guards=[STAFF],
        responses=problems(*BY_TOKEN, *BY_ID, 409),
    )
    async def publish(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> SurveySummary:
        """Open it now, or at its opening time."""
        await services.publish(db_session, survey_id, **_by(request))
        _forget(request, survey_id)
        return await progress.survey_summary(db_session, survey_id)

    @post(
        "/{survey_id:int}/close",
        summary="Close a published survey",
        status_code=HTTP_200_OK,
        guards=[STAFF],
        responses=problems(*BY_TOKEN, *BY_ID, 409),
    )
    async def close(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> SurveySummary:
        """Stop accepting responses now."""
        await services.close(db_session, survey_id, **_by(request))
        _forget(request, survey_id)
        return await progress.survey_summary(db_session, survey_id)

    @post(
        "/{survey_id:int}/waves",
        summary="Start the next wave as a draft copy",
        status_code=HTTP_201_CREATED,
        guards=[STAFF],
        responses=problems(*BY_TOKEN, *BY_ID, 409),
    )
    async def new_wave(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], survey_id: RowId
    ) -> SurveyCreated:
        """Same issue codes, so the waves compare; linked to this one."""
        wave_id = await services.new_wave(db_session, survey_id, **_by(request))
        return SurveyCreated(id=wave_id, status="draft")

    @get(
        "/{survey_id:int}/counts",
        summary="Responses so far by district",
        guards=[ANALYST],
        responses=problems(*BY_TOKEN, *BY_ID),
    )
    async def counts(self, db_session: NamedDependency[AsyncSession], survey_id: RowId) -> list[DistrictCount]:
        """One row per district the survey covers."""
        if not await services.exists(db_session, survey_id):
            raise SurveyNotFound(survey_id)
        return await progress.district_counts(db_session, survey_id)


def _by(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Who acts and from where, for the audit log."""
    return {"actor": current_principal(request), "ip": client_ip(request)}


def _forget(request: Request[Any, Any, Any], survey_id: int) -> None:
    """This worker stops serving the old status at once; others within the catalogue's few seconds."""
    catalogue: SurveyCatalogue = request.app.state.catalogue
    catalogue.forget(survey_id)
