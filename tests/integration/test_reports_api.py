"""The report API: JSON, CSV and XLSX reports and the streamed responses CSV, through the real app.

Each test runs on a real SQLite file and on a real PostgreSQL database. The figures are checked
against SQL counts of the stored rows, never against the code that made them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, response_picks, responses
from talking.demo import synthetic_responses
from talking.reports.crime_exports import CRIME_COLUMNS
from talking.reports.exports import ISSUE_COLUMNS
from talking.surveys.writer import ResponseWriter
from tests.conftest import DEMO_ISSUES, make_token, make_user, publish_survey

PRESTON, BURNLEY, WYRE = "E07000123", "E07000117", "E07000128"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def survey(engine: AsyncEngine) -> int:
    """A survey with 150 answers in Preston, 120 in Burnley and 4 in Wyre (too few to show)."""
    survey_id = await publish_survey(engine)
    answers = synthetic_responses(list(DEMO_ISSUES), 5, 274, 3, datetime.now(UTC))
    for i, answer in enumerate(answers):
        answer.survey_id = survey_id
        answer.district = PRESTON if i < 150 else BURNLEY if i < 270 else WYRE
        answer.comment = "Speeding cars on the main road every night" if i % 3 == 0 else None
    answers[0].comment = '=HYPERLINK("http://evil.example","click")'
    answers[270].comment = "Wyre comment that must never be quoted"
    writer = ResponseWriter(engine)
    await writer.store_now(answers)
    await writer.stop()
    return survey_id


@pytest.fixture
async def token(engine: AsyncEngine) -> str:
    """An analyst's API token."""
    return await make_token(engine, await make_user(engine, "analyst@example.org", "analyst"))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_json_report_shares_are_exact_fractions_of_stored_counts(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, token: str
) -> None:
    answer = await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    report = answer.json()
    assert report["responses"] == 274 and report["survey"]["id"] == survey
    for key in ("method", "county", "districts", "clusters", "opinion_groups", "themes"):
        assert key in report
    assert report["method"]["random_state"] == 0 and report["method"]["min_cell"] == 10
    preston = next(d for d in report["districts"] if d["code"] == PRESTON)
    async with engine.connect() as conn:
        firsts = dict(
            (
                await conn.execute(
                    select(response_picks.c.issue_code, func.count())
                    .join(responses, responses.c.id == response_picks.c.response_id)
                    .where(response_picks.c.survey_id == survey, responses.c.district_code == PRESTON)
                    .where(response_picks.c.rank == 1)
                    .group_by(response_picks.c.issue_code)
                )
            ).all()
        )
    assert preston["responses"] == 150
    assert sum(firsts.values()) == 150
    assert set(firsts) <= {issue["code"] for issue in preston["issues"]}  # every issue anyone chose first
    for issue in preston["issues"]:
        share = issue["first_choice_share"]
        assert (share["numerator"], share["denominator"]) == (firsts.get(issue["code"], 0), 150)
        low, high = issue["rank_range"]
        assert low <= issue["rank"] <= high
        assert issue["score_ci"][0] <= issue["score"] <= issue["score_ci"][1]


async def test_a_district_under_ten_answers_is_suppressed_everywhere(
    client: AsyncTestClient, survey: int, token: str
) -> None:
    answer = await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))
    report = answer.json()
    wyre = next(d for d in report["districts"] if d["code"] == WYRE)
    assert wyre["suppressed"] and wyre["responses"] is None and wyre["issues"] == []
    assert all("Wyre comment" not in q for theme in report["themes"] for q in theme["quotes"])
    assert "Wyre comment" not in answer.text  # nowhere in the report, quoted or not
    text = (await client.get(f"/api/v1/surveys/{survey}/report?format=csv", headers=auth(token))).text
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["area_code"] == WYRE]
    assert rows and all(r["suppressed"] == "True" and r["score"] == "" and r["responses"] == "" for r in rows)


async def test_the_county_is_made_of_the_published_districts_and_says_so_in_every_format(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, token: str
) -> None:
    """Wyre's 4 answers are in no county figure: its first choices are the stored ones of Preston and
    Burnley alone, so county minus the published districts is nothing; JSON, CSV and XLSX name Wyre."""
    report = (await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))).json()
    county = report["county"]
    assert report["responses"] == 274 and county["responses"] == 270
    assert county["left_out"] == [WYRE] and county["left_out_responses"] == 4
    assert any(
        "leave out 1 suppressed district with 4 of the 274 answers: Wyre (4)" in n for n in report["method"]["notes"]
    )
    async with engine.connect() as conn:
        firsts = dict(
            (
                await conn.execute(
                    select(response_picks.c.issue_code, func.count())
                    .join(responses, responses.c.id == response_picks.c.response_id)
                    .where(response_picks.c.survey_id == survey, responses.c.district_code.in_([PRESTON, BURNLEY]))
                    .where(response_picks.c.rank == 1)
                    .group_by(response_picks.c.issue_code)
                )
            ).all()
        )
    for issue in county["unweighted"]["issues"]:
        share = issue["first_choice_share"]
        assert (share["numerator"], share["denominator"]) == (firsts.get(issue["code"], 0), 270)
    shown = [d for d in report["districts"] if not d["suppressed"] and d["responses"]]
    assert {d["code"] for d in shown} == {PRESTON, BURNLEY}
    assert county["responses"] - sum(d["responses"] for d in shown) == 0

    text = (await client.get(f"/api/v1/surveys/{survey}/report?format=csv", headers=auth(token))).text
    county_rows = [r for r in csv.DictReader(io.StringIO(text)) if r["area_type"] == "county"]
    assert county_rows and all(r["responses"] == "270" for r in county_rows)
    assert all(r["county_leaves_out"] == WYRE and r["county_left_out_responses"] == "4" for r in county_rows)

    workbook = (await client.get(f"/api/v1/surveys/{survey}/report?format=xlsx", headers=auth(token))).content
    with zipfile.ZipFile(io.BytesIO(workbook)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "county leaves out (suppressed districts)" in strings and WYRE in strings
    assert "respondents who did not give age band" in strings and "respondents who did not give sex" in strings


async def test_csv_has_one_row_per_area_weighting_and_issue(client: AsyncTestClient, survey: int, token: str) -> None:
    answer = await client.get(f"/api/v1/surveys/{survey}/report?format=csv", headers=auth(token))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == ISSUE_COLUMNS + CRIME_COLUMNS
    preston = [r for r in rows if r["area_code"] == PRESTON]
    assert len(preston) == 2 * len(DEMO_ISSUES)  # unweighted and weighted
    assert {r["weighting"] for r in preston} == {"unweighted", "weighted"}


async def test_xlsx_is_a_workbook_with_a_sheet_per_table(client: AsyncTestClient, survey: int, token: str) -> None:
    answer = await client.get(f"/api/v1/surveys/{survey}/report?format=xlsx", headers=auth(token))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
        workbook = book.read("xl/workbook.xml").decode()
    for sheet in ("Issues", "Priority scores", "District groups", "Opinion groups", "Themes", "Method"):
        assert f'name="{sheet}"' in workbook


async def test_every_download_is_audited(client: AsyncTestClient, engine: AsyncEngine, survey: int, token: str) -> None:
    for fmt in ("json", "csv"):
        await client.get(f"/api/v1/surveys/{survey}/report?format={fmt}", headers=auth(token))
    await client.get(f"/api/v1/surveys/{survey}/responses.csv", headers=auth(token))
    async with engine.connect() as conn:
        actions = (
            await conn.execute(select(audit_events.c.action, audit_events.c.actor_email).order_by(audit_events.c.id))
        ).all()
    assert [a for a in actions if a[0].endswith("_exported")] == [
        ("report_exported", "analyst@example.org"),
        ("report_exported", "analyst@example.org"),
        ("responses_exported", "analyst@example.org"),
    ]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/surveys/{id}/report?format=pdf", 422),
        ("/api/v1/surveys/987654/report", 404),
        ("/api/v1/surveys/987654/responses.csv", 404),
    ],
)
async def test_bad_requests_get_problem_details(
    client: AsyncTestClient, survey: int, token: str, path: str, status: int
) -> None:
    answer = await client.get(path.format(id=survey), headers=auth(token))
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == status


async def test_residents_and_strangers_get_no_report(client: AsyncTestClient, survey: int) -> None:
    answer = await client.get(f"/api/v1/surveys/{survey}/report")
    assert answer.status_code == 401
    answer = await client.get(f"/api/v1/surveys/{survey}/responses.csv", headers=auth("tk_not-a-token"))
    assert answer.status_code == 401


async def test_responses_csv_has_every_stored_answer_and_is_formula_safe(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, token: str
) -> None:
    answer = await client.get(f"/api/v1/surveys/{survey}/responses.csv", headers=auth(token))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                select(responses.c.reference, responses.c.district_code).where(responses.c.survey_id == survey)
            )
        ).all()
        first_picks = dict(
            (
                await conn.execute(
                    select(responses.c.reference, response_picks.c.issue_code)
                    .join(response_picks, response_picks.c.response_id == responses.c.id)
                    .where(responses.c.survey_id == survey, response_picks.c.rank == 1)
                )
            ).all()
        )
    assert sorted((r["reference"], r["district_code"]) for r in rows) == sorted(stored)
    assert all(r["pick_1"] == first_picks[r["reference"]] for r in rows)
    assert all(r["submitted_at"].endswith("Z") for r in rows)
    hostile = [r["comment"] for r in rows if "HYPERLINK" in r["comment"]]
    assert hostile == ['\'=HYPERLINK("http://evil.example","click")']


async def test_a_new_answer_shows_in_the_next_report(client: AsyncTestClient, survey: int, token: str) -> None:
    before = (await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))).json()
    again = (await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))).json()
    assert again == before  # nothing new: the same report (served from memory)
    sent = await client.post(
        f"/api/v1/surveys/{survey}/responses", json={"district": PRESTON, "picks": [DEMO_ISSUES[0]]}
    )
    assert sent.status_code == 201
    after = (await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))).json()
    assert after["responses"] == before["responses"] + 1
    preston = next(d for d in after["districts"] if d["code"] == PRESTON)
    assert preston["responses"] == 151
