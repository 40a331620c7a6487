"""JSON API v1 for analysts: a survey's report (JSON, CSV, XLSX) and its responses as CSV.

Every download is written to the audit log: reports carry residents' views by district, and the
responses file carries every answer as given.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Response, Stream
from sqlalchemy.ext.asyncio import AsyncSession

from talking import audit
from talking.errors import SurveyNotFound
from talking.openapi import BY_ID, BY_TOKEN, STAFF_SECURITY, problems
from talking.params import RowId
from talking.questionnaires import services as questionnaires
from talking.reports import exports
from talking.reports.recorded_crime import MONTH_PATTERN, with_recorded_crime
from talking.reports.responses_csv import stream_responses_csv
from talking.reports.service import ReportCache, ReportDocument, SurveyReport
from talking.web.guards import current_principal, requires
from talking.web.people import client_ip

ANALYST = requires("analyst")
Format = Literal["json", "csv", "xlsx"]

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv",  # Litestar adds "; charset=utf-8" to text types
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def report_file(built: SurveyReport, fmt: str) -> tuple[bytes, str, str]:
    """The report in a format: (content, media type, file name)."""
    content = {"json": exports.to_json, "csv": lambda b: exports.to_csv(b).encode(), "xlsx": exports.to_xlsx}[fmt]
    name = f"talking-survey-{built.frame.id}-wave-{built.frame.wave}-report.{fmt}"
    return content(built), MEDIA_TYPES[fmt], name


def attachment(name: str) -> dict[str, str]:
    """Headers that make a browser save the response as a file."""
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def record_export(
    request: Request[Any, Any, Any], db_session: AsyncSession, action: str, survey_id: int, detail: dict[str, Any]
) -> None:
    """Write a download to the audit log and commit, so the record stays whatever happens after."""
    actor = current_principal(request)
    await audit.record(
        db_session, action, actor=actor, target_type="survey", target_id=survey_id, detail=detail, ip=client_ip(request)
    )
    await db_session.commit()


async def report_download(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    survey_id: int,
    fmt: str,
    crime_from: str | None = None,
    crime_to: str | None = None,
) -> Response[bytes]:
    """The report as a file (with recorded crime for the months asked), audited; for the API and the pages alike."""
    cache: ReportCache = request.app.state.reports
    built = await cache.get(survey_id)
    built = await with_recorded_crime(request.app.state.engine, built, crime_from, crime_to)
    content, media_type, name = report_file(built, fmt)
    detail = {"format": fmt, "responses": built.report.responses}
    if built.recorded_crime is not None and built.recorded_crime.months:
        detail["crime_months"] = built.recorded_crime.months
    await record_export(request, db_session, "report_exported", survey_id, detail)
    return Response(content, media_type=media_type, headers=attachment(name))


class ReportController(Controller):
    """Reports for analysts, staff and admins. Bearer tokens act with their user's role."""

    path = "/api/v1/surveys/{survey_id:int}"
    tags: ClassVar[list[str]] = ["reports"]
    guards: ClassVar[list[Any]] = [ANALYST]
    security = STAFF_SECURITY

    @get(
        "/report",
        summary="The survey's report: ranked issues by district, groups, themes, waves",
        responses=problems(*BY_TOKEN, *BY_ID, 400),
    )
    async def report(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
        fmt: Annotated[Format, QueryParameter(name="format", description="json, csv or xlsx")] = "json",
        crime_from: Annotated[
            str | None,
            QueryParameter(
                description="First month of recorded crime (YYYY-MM); default the first imported",
                pattern=MONTH_PATTERN,
                max_length=7,
            ),
        ] = None,
        crime_to: Annotated[
            str | None,
            QueryParameter(
                description="Last month of recorded crime (YYYY-MM); default the last imported",
                pattern=MONTH_PATTERN,
                max_length=7,
            ),
        ] = None,
    ) -> Response[bytes]:
        """Rebuilt when answers have arrived since the last request, otherwise served from memory."""
        return await report_download(request, db_session, survey_id, fmt, crime_from, crime_to)

    @get(
        "/responses.csv",
        summary="Every response as CSV, one row per response (streamed)",
        media_type=MEDIA_TYPES["csv"],
        responses=problems(*BY_TOKEN, *BY_ID),
    )
    async def responses_csv(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
    ) -> Stream:
        """Picks in rank order, about-you answers, comments and extra questions; text cells are formula-safe."""
        if not await questionnaires.exists(db_session, survey_id):
            raise SurveyNotFound(survey_id)
        await record_export(request, db_session, "responses_exported", survey_id, {"format": "csv"})
        engine = request.app.state.engine

        async def rows():
            async with engine.connect() as conn:
                async for chunk in stream_responses_csv(conn, survey_id):
                    yield chunk

        name = f"talking-survey-{survey_id}-responses.csv"
        return Stream(rows(), media_type=MEDIA_TYPES["csv"], headers=attachment(name))


def document_report_formats(document: dict[str, Any]) -> None:
    """The report's answer in OpenAPI: the JSON document's real schema, and the CSV and XLSX files."""
    operation = document.get("paths", {}).get("/api/v1/surveys/{survey_id}/report", {}).get("get")
    if operation is None:
        return
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    # analysis' own Structs, under names of their own (analysis.schemas.District is not reference's District).
    (report,), parts = msgspec.json.schema_components(
        [ReportDocument], ref_template="#/components/schemas/Report.{name}"
    )
    schemas.update({f"Report.{name}": schema for name, schema in parts.items()})
    operation["responses"]["200"] = {
        "description": "The report, as ?format= asks: JSON (default), CSV (a row per area, weighting and issue)"
        " or XLSX.",
        "content": {
            MEDIA_TYPES["json"]: {"schema": report},
            MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
            MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
        "headers": {"Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=..."}},
    }
