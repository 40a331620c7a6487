"""Analyst pages: a survey's report as GOV.UK pages, and its files for signed-in staff.

The overview puts the county and all districts side by side (a heat map of priority scores);
each district has a page; then district and opinion groups, and comment themes with
wave-on-wave changes. Figures come from the report cache (rebuilt when answers arrive), turned
into text by overview.py, views.py and findings.py. Downloads are the API's files, audited the same way;
the API takes tokens only, so signed-in analysts download here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from talking.params import RowId
from talking.reports import findings, views
from talking.reports.api import report_download
from talking.reports.crime_view import crime_view
from talking.reports.issue_map import CHOOSE_AN_ISSUE, is_known_issue
from talking.reports.overview import overview_view
from talking.reports.recorded_crime import MonthsBroken, with_recorded_crime
from talking.reports.service import ReportCache, SurveyReport
from talking.web.guards import requires

Req = Request[Any, Any, Any]
REPORT = "/report"


async def _report(request: Req, survey_id: int) -> SurveyReport:
    """The survey's report from the cache; SurveyNotFound (a 404 page) for an unknown survey."""
    cache: ReportCache = request.app.state.reports
    return await cache.get(survey_id)


def _links(built: SurveyReport) -> views.Links:
    return views.Links(f"/staff/surveys/{built.frame.id}{REPORT}")


def _page(template: str, built: SurveyReport, status_code: int = 200, **context: Any) -> Template:
    context = {"survey": views.survey_info(built), "links": _links(built), **context}
    return Template(template, context=context, status_code=status_code)


class ReportPages(Controller):
    """A survey's report for analysts, staff and admins, signed in."""

    path = "/staff/surveys/{survey_id:int}"
    include_in_schema = False
    guards: ClassVar[list[Any]] = [requires("analyst")]

    @get(REPORT)
    async def overview(self, request: Req, survey_id: RowId) -> Template:
        """The survey, the method, the county's issues, a map of one issue (?issue=CODE) and every district.

        An issue the report does not have gets the page with an error summary (422) and the default map.
        """
        built = await _report(request, survey_id)
        issue = request.query_params.get("issue")
        headline = built.report.county.weighted or built.report.county.unweighted
        errors = {}
        if headline is not None and not is_known_issue(issue, headline.issues):
            errors, issue = {"issue": CHOOSE_AN_ISSUE}, None
        ov = overview_view(built, _links(built), issue)
        return _page("reports/overview.html", built, 422 if errors else 200, ov=ov, errors=errors)

    @get(REPORT + "/districts/{code:str}")
    async def district(self, request: Req, survey_id: RowId, code: FromPath[str]) -> Template:
        """A district's issues, chart, verdicts against the county and checks; 404 if not in the report."""
        built = await _report(request, survey_id)
        found = views.find_district(built.report, code)
        if found is None:
            raise NotFoundException(f"District {code} is not in this report")
        return _page("reports/district.html", built, dv=views.district_view(built, found))

    @get(REPORT + "/groups")
    async def groups(self, request: Req, survey_id: RowId) -> Template:
        """Groups of districts and groups of residents."""
        built = await _report(request, survey_id)
        return _page("reports/groups.html", built, gv=findings.groups_view(built))

    @get(REPORT + "/themes")
    async def themes(self, request: Req, survey_id: RowId) -> Template:
        """Comment themes, and changes since the previous wave."""
        built = await _report(request, survey_id)
        return _page("reports/themes.html", built, tv=findings.themes_view(built))

    @get(REPORT + "/crime")
    async def crime(
        self,
        request: Req,
        survey_id: RowId,
        crime_from: FromQuery[str | None] = None,
        crime_to: FromQuery[str | None] = None,
    ) -> Template:
        """Recorded crime beside concern for the months chosen (all imported by default)."""
        built = await _report(request, survey_id)
        errors: dict[str, str] = {}
        try:
            with_crime = await with_recorded_crime(request.app.state.engine, built, crime_from, crime_to)
        except MonthsBroken as exc:
            errors = {e.field: e.message for e in exc.errors}
            with_crime = await with_recorded_crime(request.app.state.engine, built)
            crime_from = crime_to = None
        assert with_crime.recorded_crime is not None  # with_recorded_crime always adds the section
        page = _page(
            "reports/crime.html", built, cv=crime_view(with_crime.recorded_crime, crime_from, crime_to), errors=errors
        )
        if errors:
            page.status_code = 422
        return page

    @get(REPORT + ".csv")
    async def csv(
        self,
        request: Req,
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
        crime_from: FromQuery[str | None] = None,
        crime_to: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The report as CSV, one row per area, weighting and issue (audited)."""
        return await report_download(request, db_session, survey_id, "csv", crime_from, crime_to)

    @get(REPORT + ".xlsx")
    async def xlsx(
        self,
        request: Req,
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
        crime_from: FromQuery[str | None] = None,
        crime_to: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The report as an Excel workbook, a sheet per table (audited)."""
        return await report_download(request, db_session, survey_id, "xlsx", crime_from, crime_to)

    @get(REPORT + ".json")
    async def json(
        self,
        request: Req,
        db_session: NamedDependency[AsyncSession],
        survey_id: RowId,
        crime_from: FromQuery[str | None] = None,
        crime_to: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The whole report as JSON (audited)."""
        return await report_download(request, db_session, survey_id, "json", crime_from, crime_to)
