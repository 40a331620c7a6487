"""Recorded crime in the report, through the real app: the JSON's recorded_crime, the CSV's columns, the
workbook's sheets, the months chosen (and refused when they are not months), the report page, and
the upload page. Rates are checked against the rows in the file, counted here by hand."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.crime import services
from talking.crime.mapping import crime_types_by_issue
from talking.crime.police_file import read_bytes
from talking.db.engine import immediate
from talking.db.models import audit_events, crime_counts, crime_imports
from talking.demo import synthetic_responses
from talking.reference import districts_by_code
from talking.surveys.writer import ResponseWriter

from ..conftest import DEMO_ISSUES, make_token, make_user, publish_survey
from .staff_helpers import csrf_from, error_summary, sign_in, text_of, title

Client = AsyncTestClient[Litestar]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "police_uk"
SLICE = FIXTURES / "2022-10-lancashire-street-every-10th.csv"
HEADER = "Month,Falls within,LSOA code,LSOA name,Crime type\n"
ANSWERS = {"E07000123": 40, "E07000117": 40, "E07000118": 40, "E07000119": 40, "E07000122": 40, "E07000128": 4}
PRESTON = "E07000123"
ANALYST = "analyst@lancashire.test"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    return each_database_url


@pytest.fixture
async def survey(engine: AsyncEngine) -> int:
    """Forty answers in each of five districts and four in Wyre (suppressed)."""
    survey_id = await publish_survey(engine)
    answers = synthetic_responses(list(DEMO_ISSUES), 5, sum(ANSWERS.values()), 3, datetime.now(UTC))
    places = [code for code, n in ANSWERS.items() for _ in range(n)]
    for answer, district in zip(answers, places, strict=True):
        answer.survey_id = survey_id
        answer.district = district
    writer = ResponseWriter(engine)
    await writer.store_now(answers)
    await writer.stop()
    return survey_id


@pytest.fixture
async def token(engine: AsyncEngine) -> str:
    return await make_token(engine, await make_user(engine, ANALYST, "analyst"))


async def import_text(engine: AsyncEngine, text: str | bytes, name: str = "file.csv") -> None:
    found = read_bytes(text if isinstance(text, bytes) else text.encode())
    async with immediate(engine).begin() as conn:
        await services.store_file(conn, found, name, via="command")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def burglary_in_preston_by_hand() -> int:
    """Burglary rows in the slice whose LSOA name is a Preston LSOA: counted without the app's code."""
    rows = csv.DictReader(io.StringIO(SLICE.read_text(encoding="utf-8"), newline=""))
    return sum(1 for r in rows if r["Crime type"] == "Burglary" and r["LSOA name"].startswith("Preston "))


async def test_without_crime_the_section_says_so(client: Client, survey: int, token: str) -> None:
    report = (await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))).json()
    crime = report["recorded_crime"]
    assert crime["months"] == [] and crime["available_months"] == [] and crime["issues"] == []
    assert crime["notes"] == [
        "No police.uk crime data is imported for these months, so there is nothing to compare concern with."
    ]
    assert {u["code"] for u in crime["unmapped"]} == {"road-safety", "speeding", "fraud", "alcohol"} & set(DEMO_ISSUES)


async def test_the_json_sets_rates_beside_scores(client: Client, engine: AsyncEngine, survey: int, token: str) -> None:
    await import_text(engine, SLICE.read_bytes(), SLICE.name)
    report = (await client.get(f"/api/v1/surveys/{survey}/report", headers=auth(token))).json()
    crime = report["recorded_crime"]
    assert crime["months"] == ["2022-10"] and crime["gap_places"] == 2
    burglary = next(i for i in crime["issues"] if i["code"] == "burglary")
    preston = next(d for d in burglary["districts"] if d["code"] == PRESTON)
    expected = burglary_in_preston_by_hand()
    assert preston["incidents"] == expected
    assert preston["per_1000"] == pytest.approx(1000 * expected / districts_by_code()[PRESTON].population)
    scores = {d["code"]: d for d in report["districts"]}
    assert preston["score"] == pytest.approx(
        next(
            i["score"]
            for i in scores[PRESTON]["weighted_issues"] or scores[PRESTON]["issues"]
            if i["code"] == "burglary"
        )
    )
    wyre = next(d for d in burglary["districts"] if d["code"] == "E07000128")
    assert wyre["score"] is None and wyre["verdict"] is None  # suppressed: its rate stands, it is not compared
    # Wyre is suppressed (and only Wyre: no large district is hidden for its sake); the others are compared.
    published = [d for d in report["districts"] if not d["suppressed"] and d["responses"]]
    assert burglary["correlation"]["districts"] == len(published) == 5
    assert -1 <= burglary["correlation"]["rho"] <= 1 and 0 < burglary["correlation"]["p_value"] <= 1


async def test_months_are_chosen_and_bad_ones_refused(
    client: Client, engine: AsyncEngine, survey: int, token: str
) -> None:
    await import_text(engine, HEADER + "2022-10,Lancashire Constabulary,,Preston 001A,Burglary\n")
    await import_text(engine, HEADER + "2022-11,Lancashire Constabulary,,Preston 001A,Burglary\n" * 2)
    url = f"/api/v1/surveys/{survey}/report"

    def preston_burglary(report: dict) -> int:
        burglary = next(i for i in report["recorded_crime"]["issues"] if i["code"] == "burglary")
        return next(d["incidents"] for d in burglary["districts"] if d["code"] == PRESTON)

    every = (await client.get(url, headers=auth(token))).json()
    assert every["recorded_crime"]["months"] == ["2022-10", "2022-11"] and preston_burglary(every) == 3
    november = (await client.get(url, params={"crime_from": "2022-11"}, headers=auth(token))).json()
    assert november["recorded_crime"]["months"] == ["2022-11"] and preston_burglary(november) == 2
    none = (await client.get(url, params={"crime_to": "2021-01"}, headers=auth(token))).json()
    assert none["recorded_crime"]["months"] == [] and none["recorded_crime"]["issues"] == []
    for params in ({"crime_from": "October"}, {"crime_to": "2022-13"}, {"crime_from": "2022-10-01"}):
        refused = await client.get(url, params=params, headers=auth(token))
        assert refused.status_code == 422, params
        assert refused.headers["content-type"].startswith("application/problem+json")
    backwards = await client.get(url, params={"crime_from": "2022-11", "crime_to": "2022-10"}, headers=auth(token))
    assert backwards.status_code == 422
    assert backwards.json()["errors"] == [
        {"field": "crime_to", "message": "The last month (2022-10) must not be before the first (2022-11)"}
    ]


async def test_the_csv_and_workbook_carry_the_section(
    client: Client, engine: AsyncEngine, survey: int, token: str
) -> None:
    await import_text(engine, SLICE.read_bytes(), SLICE.name)
    answer = await client.get(f"/api/v1/surveys/{survey}/report", params={"format": "csv"}, headers=auth(token))
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    preston = next(
        r
        for r in rows
        if r["area_code"] == PRESTON and r["issue_code"] == "burglary" and r["weighting"] == "unweighted"
    )
    assert preston["recorded_crime_months"] == "2022-10"
    assert int(preston["recorded_incidents"]) == burglary_in_preston_by_hand()
    county = next(r for r in rows if r["area_type"] == "county" and r["issue_code"] == "burglary")
    assert county["crime_rank_correlation"] != "" and county["crime_correlation_p"] != ""
    road = next(r for r in rows if r["issue_code"] == "road-safety")
    assert road["recorded_incidents"] == ""  # no police.uk category
    answer = await client.get(f"/api/v1/surveys/{survey}/report", params={"format": "xlsx"}, headers=auth(token))
    with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
        workbook = book.read("xl/workbook.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    for sheet in ("Recorded crime", "Crime and concern"):
        assert f'name="{sheet}"' in workbook
    assert "spearman_rho" in strings and "Open Government Licence" in strings


async def test_the_report_page_shows_rates_a_chart_and_refuses_bad_months(
    client: Client, engine: AsyncEngine, survey: int
) -> None:
    await make_user(engine, ANALYST, "analyst")
    await sign_in(client, ANALYST)
    page_url = f"/staff/surveys/{survey}/report/crime"
    empty = await client.get(page_url)
    assert empty.status_code == 200 and "No recorded crime has been imported yet" in text_of(empty.text)
    await import_text(engine, SLICE.read_bytes(), SLICE.name)
    page = await client.get(page_url)
    assert page.status_code == 200 and title(page.text).startswith("Recorded crime: report")
    text = text_of(page.text)
    assert "for 2022-10 (data.police.uk)" in text and "Spearman's rank correlation" in text
    assert "Road safety Collisions and driving offences are not in police.uk" in text
    assert f"Preston {burglary_in_preston_by_hand()}" in text
    mapped = [code for code in DEMO_ISSUES if crime_types_by_issue().get(code, ([], ""))[0]]
    assert page.text.count('role="img"') == len(mapped)  # a chart per issue with a police.uk category
    refused = await client.get(page_url, params={"crime_from": "last year"})
    assert refused.status_code == 422 and title(refused.text).startswith("Error: ")
    assert error_summary(refused.text) == [
        ("#crime_from", "Enter the month as YYYY-MM, for example 2022-10 (not 'last year')")
    ]
    download = await client.get(f"/staff/surveys/{survey}/report.json", params={"crime_from": "2022-10"})
    assert download.json()["recorded_crime"]["months"] == ["2022-10"]


async def upload(client: Client, content: bytes, name: str = "lancashire-october.csv"):
    shown = await client.get("/staff/crime")
    assert shown.status_code == 200
    data = {"_csrf_token": csrf_from(shown.text)}
    return await client.post(
        "/staff/crime", data=data, files={"file": (name, content, "text/csv")}, follow_redirects=False
    )


async def count_counts(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(crime_counts))).scalar_one()


async def test_an_analyst_uploads_a_file_and_reads_what_it_did(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, ANALYST, "analyst")
    await sign_in(client, ANALYST)
    sent = await upload(client, SLICE.read_bytes())
    assert sent.status_code == 303 and sent.headers["location"] == "/staff/crime/report"
    report = await client.get("/staff/crime/report")
    assert report.status_code == 200 and report.headers["cache-control"] == "no-store"
    text = text_of(report.text)
    assert "Rows read 1,584" in text and "Stored in the 14 areas 1,519" in text
    assert "Outside the 14 areas (not stored) 6" in text and "Without a location (not stored) 59" in text
    again = await upload(client, SLICE.read_bytes())
    assert again.status_code == 303
    assert "Replaced what was imported before for 2022-10 Lancashire Constabulary" in text_of(
        (await client.get("/staff/crime/report")).text
    )
    log = text_of((await client.get("/staff/crime")).text)
    assert log.count("lancashire-october.csv") == 2
    async with engine.connect() as conn:
        via = (await conn.execute(select(crime_imports.c.imported_via).distinct())).scalar_one()
        actor = (
            await conn.execute(select(audit_events.c.actor_email).where(audit_events.c.action == "crime_imported"))
        ).first()
    assert via == "upload" and actor == (ANALYST,)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"name,town\nAnn,Preston\n", "must name police.uk's columns"),
        ((HEADER + "2022-10,Lancashire Constabulary,,Pr\xe9ston 001A,Drugs\n").encode("latin-1"), "not UTF-8"),
        ((HEADER + "10/2022,Lancashire Constabulary,,Preston 001A,Drugs\n").encode(), "not a month written YYYY-MM"),
        (b"PK\x03\x04xlsx", "spreadsheet"),
    ],
)
async def test_a_bad_upload_gets_an_error_summary_and_nothing_is_stored(
    client: Client, engine: AsyncEngine, content: bytes, message: str
) -> None:
    await make_user(engine, ANALYST, "analyst")
    await sign_in(client, ANALYST)
    refused = await upload(client, content, name="bad.csv")
    assert refused.status_code == 422 and title(refused.text).startswith("Error: ")
    [(href, text)] = error_summary(refused.text)
    assert href == "#file" and text.startswith("bad.csv: ") and message in text and "Nothing was imported" in text
    assert await count_counts(engine) == 0


async def test_no_file_chosen_no_session_or_no_csrf_imports_nothing(client: Client, engine: AsyncEngine) -> None:
    anonymous = await client.get("/staff/crime", follow_redirects=False)
    assert anonymous.status_code in {302, 303, 401}
    await make_user(engine, ANALYST, "analyst")
    await sign_in(client, ANALYST)
    shown = await client.get("/staff/crime")
    no_file = await client.post("/staff/crime", data={"_csrf_token": csrf_from(shown.text)})
    assert no_file.status_code == 422 and error_summary(no_file.text) == [
        ("#file", "Select a police.uk CSV file to upload")
    ]
    no_csrf = await client.post("/staff/crime", files={"file": ("a.csv", SLICE.read_bytes(), "text/csv")})
    assert no_csrf.status_code == 403
    assert await count_counts(engine) == 0
    assert (await client.get("/staff/crime/report", follow_redirects=False)).status_code == 303
