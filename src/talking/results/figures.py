"""A survey's report (from the report service) cut down to its public figures.

The county and district tables come from `talking.reports.service` exactly as the analysts get them,
so whatever the analysis decides about disclosure control and weighting holds here too: a
suppressed district reaches the public figures with no numbers at all. Nothing a resident typed
is taken: no themes, no quotes, no opinion groups.
"""

from __future__ import annotations

from analysis.schemas import District, IssueResult, Report
from talking.reports.service import SurveyReport
from talking.results.schemas import PublicArea, PublicFigures, PublicIssue, Stage

COUNTY = "county"


def public_figures(built: SurveyReport, stage: Stage) -> PublicFigures:
    """The figures a publication freezes: the county (weighted when the report weights it) and every district."""
    report = built.report
    frame = built.frame
    return PublicFigures(
        survey_id=frame.id,
        title=frame.title,
        wave=frame.wave,
        stage=stage,
        responses=report.responses,
        min_cell=report.method.min_cell,
        weighting=_county_weighting(report),
        method_version=report.method.version,
        county=_county(report),
        districts=[_district(district) for district in report.districts],
    )


def _county_weighting(report: Report) -> str:
    return report.county.weighting if report.county.weighted is not None else "not weighted"


def _county(report: Report) -> PublicArea:
    table = report.county.weighted or report.county.unweighted
    issues = [_issue(issue) for issue in table.issues] if table is not None else []
    return PublicArea(COUNTY, "Lancashire", report.county.responses, False, issues)


def _district(district: District) -> PublicArea:
    if district.suppressed:
        return PublicArea(district.code, district.name, None, True, [])
    # The district's own answers, as the analysts' district pages show them: these carry the test
    # against the county ("over", "under", "as county") that the district page puts into words.
    issues = [_issue(issue) for issue in district.issues]
    return PublicArea(district.code, district.name, district.responses, False, issues)


def _issue(issue: IssueResult) -> PublicIssue:
    return PublicIssue(
        code=issue.code,
        label=issue.label,
        rank=issue.rank,
        rank_range=issue.rank_range,
        score=round(issue.score, 1),
        score_ci=(round(issue.score_ci[0], 1), round(issue.score_ci[1], 1)),
        first_choice_share=round(issue.first_choice_share.value, 4),
        mention_share=round(issue.mention_share.value, 4),
        versus_county=issue.versus_county.verdict if issue.versus_county is not None else None,
    )
