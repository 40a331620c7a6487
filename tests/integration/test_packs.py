"""Strategic Assessment packs through the real app, the real database and the real `talking` command.

Making, listing and fetching (JSON, HTML, PDF), immutability after new answers, `talking packs
verify`, roles, bad ids and formats, and concurrent makes. JSON, HTML and PDF are checked for the
same figures; the PDF is read back with pypdf.
"""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from pypdf import PdfReader
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, packs
from talking.demo import synthetic_responses
from talking.packs import service
from talking.packs.document import canonical, settings_of
from talking.surveys.writer import ResponseWriter
from tests.conftest import DEMO_ISSUES, make_token, make_user, publish_survey, talking

from .staff_helpers import csrf_from, sign_in, text_of

PRESTON, BURNLEY, WYRE = "E07000123", "E07000117", "E07000128"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


async def add_answers(engine: AsyncEngine, survey_id: int, n: int, seed: int = 3) -> None:
    answers = synthetic_responses(list(DEMO_ISSUES), 5, n, seed, datetime.now(UTC))
    for i, answer in enumerate(answers):
        answer.survey_id = survey_id
        answer.district = PRESTON if i < 150 else BURNLEY if i < 270 else WYRE
        answer.comment = "Speeding cars on the main road every night" if i % 3 == 0 else None
    writer = ResponseWriter(engine)
    await writer.store_now(answers)
    await writer.stop()


@pytest.fixture
async def survey(engine: AsyncEngine) -> int:
    """150 answers in Preston, 120 in Burnley and 4 in Wyre (suppressed)."""
    survey_id = await publish_survey(engine)
    await add_answers(engine, survey_id, 274)
    return survey_id


@pytest.fixture
async def staff_token(engine: AsyncEngine) -> str:
    return await make_token(engine, await make_user(engine, "staff@example.org", "staff"))


@pytest.fixture
async def analyst_token(engine: AsyncEngine) -> str:
    return await make_token(engine, await make_user(engine, "analyst@example.org", "analyst"))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make(client: AsyncTestClient, survey_id: int, token: str) -> dict:
    made = await client.post(f"/api/v1/surveys/{survey_id}/packs", headers=auth(token))
    assert made.status_code == 201, made.text
    return made.json()


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages).split())


async def test_a_pack_is_made_listed_and_fetched_in_every_format_with_the_same_figures(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, staff_token: str, analyst_token: str
) -> None:
    made = await make(client, survey, staff_token)
    assert set(made) == {"id", "fingerprint"} and re.fullmatch(r"[0-9a-f]{64}", made["fingerprint"])

    listed = await client.get(f"/api/v1/surveys/{survey}/packs", headers=auth(analyst_token))
    assert listed.status_code == 200
    (row,) = listed.json()
    assert (row["id"], row["fingerprint"], row["responses"], row["crime_months"]) == (
        made["id"], made["fingerprint"], 274, []
    )  # fmt: skip
    assert row["made_by"] == "staff@example.org"

    first = await client.get(f"/api/v1/packs/{made['id']}", headers=auth(analyst_token))
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    document = first.json()
    assert first.content == canonical(document)  # stored canonical: sorted keys, no spaces
    assert document["fingerprint"] == {"algorithm": "sha256", "value": made["fingerprint"], "responses": 274}
    assert document["report"]["responses"] == 274 and document["crime_months"] == []
    assert document["method"]["settings"]["random_state"] == 0 and document["method"]["settings"]["min_cell"] == 10
    wyre = next(d for d in document["report"]["districts"] if d["code"] == WYRE)
    assert wyre["suppressed"] and wyre["issues"] == []

    html = await client.get(f"/api/v1/packs/{made['id']}?format=html", headers=auth(analyst_token))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    # Self-contained: nothing fetched from anywhere, no script.
    assert "<script" not in html.text and "<link" not in html.text and " src=" not in html.text, html.text[-3000:]
    assert not re.search(r"url\((?!\"?data:|#)", html.text)
    assert not re.search(r'(href|src)="(https?:)?//', html.text)
    pdf = await client.get(f"/api/v1/packs/{made['id']}?format=pdf", headers=auth(analyst_token))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # Concurrent requests for the same file share one render, and later ones get the same bytes.
    twice = await asyncio.gather(
        *(client.get(f"/api/v1/packs/{made['id']}?format=pdf", headers=auth(analyst_token)) for _ in range(3))
    )
    assert {a.content for a in twice} == {pdf.content}
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) > 5
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points

    # The same figures in every format: each district's responses, and the county's top issues' scores.
    page_text, printed = text_of(html.text), pdf_text(pdf.content)
    headline = document["report"]["county"]["weighted"] or document["report"]["county"]["unweighted"]
    for issue in headline["issues"][:5]:
        score = f"{issue['score']:.1f}"
        assert f"{issue['label']} {score}" in page_text, issue["label"]
        assert score in printed
    for d in document["report"]["districts"]:
        if not d["suppressed"]:
            assert f"{d['responses']:,}" in page_text and f"{d['responses']:,}" in printed
    for words in ("Contents", "Summary", "Method appendix", "The data's licences", "Open Government Licence v3.0",
                  made["fingerprint"][:16]):  # fmt: skip
        assert words in page_text and words in printed
    assert "Page 1 of" not in printed and re.search(r"page 2 of \d+", printed)  # page numbers on the pages


async def test_a_pack_never_changes_and_verify_says_when_the_database_differs(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, staff_token: str, analyst_token: str,
    database_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    made = await make(client, survey, staff_token)
    before = (await client.get(f"/api/v1/packs/{made['id']}", headers=auth(analyst_token))).content
    again = (await client.get(f"/api/v1/packs/{made['id']}", headers=auth(analyst_token))).content
    assert before == again

    same = talking("packs", "verify", str(made["id"]), database_url=database_url, cwd=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "the same" in same.stdout and made["fingerprint"] in same.stdout

    # Recomputing the report from the same answers with the pack's own method gives the same JSON.
    stored = msgspec.json.decode(before)
    async with engine.connect() as conn:
        snapshot = await conn.run_sync(service.read_snapshot, survey)
    rebuilt = service.analyse(snapshot, settings_of(stored))
    assert canonical(rebuilt.document()) == canonical(stored["report"])
    assert snapshot.fingerprint.value == made["fingerprint"]

    await add_answers(engine, survey, 12, seed=99)  # new answers after the pack

    after = (await client.get(f"/api/v1/packs/{made['id']}", headers=auth(analyst_token))).content
    assert after == before  # the pack is frozen
    newer = await make(client, survey, staff_token)
    assert newer["fingerprint"] != made["fingerprint"]

    differs = talking("packs", "verify", str(made["id"]), database_url=database_url, cwd=tmp_path)
    assert differs.returncode == 1, differs.stdout + differs.stderr
    assert "different" in differs.stdout and "274 responses then, 286 now" in differs.stdout
    assert "county." in differs.stdout  # and each changed figure, by its path

    # No route changes a pack.
    for method in ("PUT", "PATCH", "DELETE"):
        answer = await client.request(method, f"/api/v1/packs/{made['id']}", headers=auth(staff_token))
        assert answer.status_code == 405, method


async def test_verify_names_a_changed_answer_even_with_the_same_count(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, staff_token: str, database_url: str, tmp_path: Path
) -> None:
    made = await make(client, survey, staff_token)
    from talking.db.models import responses

    async with engine.begin() as conn:
        first = (await conn.execute(select(func.min(responses.c.id)).where(responses.c.survey_id == survey))).scalar()
        await conn.execute(update(responses).where(responses.c.id == first).values(comment="changed behind our back"))
    differs = talking("packs", "verify", str(made["id"]), database_url=database_url, cwd=tmp_path)
    assert differs.returncode == 1 and "fingerprint" in differs.stdout


async def test_talking_packs_make_and_its_refusals(
    engine: AsyncEngine, survey: int, database_url: str, tmp_path: Path
) -> None:
    made = talking("packs", "make", str(survey), database_url=database_url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    found = re.search(r"pack (\d+): 274 responses, fingerprint ([0-9a-f]{64})", made.stdout)
    assert found
    async with engine.connect() as conn:
        row = (await conn.execute(select(packs).where(packs.c.id == int(found.group(1))))).one()
    assert row.fingerprint == found.group(2) and row.made_by == "command line"
    for args, message in ((("make", "999999"), "no survey with id 999999"), (("verify", "999999"), "no pack with id")):
        refused = talking("packs", *args, database_url=database_url, cwd=tmp_path)
        assert refused.returncode == 1 and message in refused.stderr


async def test_roles_bad_ids_and_formats_get_problem_details(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, staff_token: str, analyst_token: str
) -> None:
    refused = await client.post(f"/api/v1/surveys/{survey}/packs", headers=auth(analyst_token))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    anonymous = await client.post(f"/api/v1/surveys/{survey}/packs")
    assert anonymous.status_code == 401
    made = await make(client, survey, staff_token)
    assert (await client.get(f"/api/v1/packs/{made['id']}")).status_code == 401
    assert (await client.get(f"/api/v1/surveys/{survey}/packs")).status_code == 401

    cases = [
        ("POST", "/api/v1/surveys/999999/packs", 404),
        ("POST", "/api/v1/surveys/0/packs", 404),
        ("POST", "/api/v1/surveys/99999999999/packs", 404),
        ("GET", "/api/v1/surveys/999999/packs", 404),
        ("GET", "/api/v1/packs/999999", 404),
        ("GET", "/api/v1/packs/0", 404),
        ("GET", "/api/v1/packs/-1", 404),
        ("GET", f"/api/v1/packs/{made['id']}?format=docx", 422),
        ("GET", f"/api/v1/packs/{made['id']}?format=", 422),
    ]
    for method, path, status in cases:
        answer = await client.request(method, path, headers=auth(staff_token))
        assert answer.status_code in ({404, 422} if status == 404 else {status}), (path, answer.status_code)
        assert answer.headers["content-type"] == "application/problem+json", path

    draft = await publish_survey(engine)
    async with engine.begin() as conn:
        from talking.db.models import surveys

        await conn.execute(update(surveys).where(surveys.c.id == draft).values(status="draft"))
    answer = await client.post(f"/api/v1/surveys/{draft}/packs", headers=auth(staff_token))
    assert answer.status_code == 409 and answer.headers["content-type"] == "application/problem+json"
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(packs))).scalar_one() == 1
        audited = await conn.execute(select(audit_events.c.detail).where(audit_events.c.action == "pack_made"))
        assert len(audited.all()) == 1


async def test_concurrent_makes_each_get_a_pack_and_no_server_error(
    client: AsyncTestClient, engine: AsyncEngine, survey: int, staff_token: str
) -> None:
    answers = await asyncio.gather(
        *(client.post(f"/api/v1/surveys/{survey}/packs", headers=auth(staff_token)) for _ in range(6))
    )
    assert [a.status_code for a in answers] == [201] * 6
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 6 and len({a.json()["fingerprint"] for a in answers}) == 1
    async with engine.connect() as conn:
        documents = (await conn.execute(select(packs.c.document))).scalars().all()
    reports = {canonical(msgspec.json.decode(d)["report"]) for d in documents}
    assert len(reports) == 1  # the same answers, the same figures


async def test_staff_freeze_from_the_page_and_analysts_read_the_list(
    client: AsyncTestClient, engine: AsyncEngine, survey: int
) -> None:
    await make_user(engine, "analyst@example.org", "analyst")
    await make_user(engine, "staff@example.org", "staff")
    assert (await sign_in(client, "analyst@example.org")).status_code == 303
    page = await client.get(f"/staff/surveys/{survey}/packs")
    assert page.status_code == 200 and "Freeze the report as a pack" not in page.text
    report = await client.get(f"/staff/surveys/{survey}/report")
    assert f'href="/staff/surveys/{survey}/packs"' in report.text
    await client.post("/sign-out", data={"_csrf_token": csrf_from((await client.get("/account")).text)})

    assert (await sign_in(client, "staff@example.org")).status_code == 303
    page = await client.get(f"/staff/surveys/{survey}/packs")
    assert "There are no packs of this survey yet" in page.text
    no_token = await client.post(f"/staff/surveys/{survey}/packs", data={}, follow_redirects=False)
    assert no_token.status_code == 403
    made = await client.post(
        f"/staff/surveys/{survey}/packs", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert made.status_code == 303 and made.headers["location"] == f"/staff/surveys/{survey}/packs"
    listed = await client.get(made.headers["location"])
    found = re.search(r"Pack (\d+) made", listed.text)
    assert found
    pack_id = found.group(1)
    for fmt, media in (("json", "application/json"), ("html", "text/html"), ("pdf", "application/pdf")):
        answer = await client.get(f"/staff/packs/{pack_id}/{fmt}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media), fmt
    assert (await client.get("/staff/packs/999999/pdf")).status_code == 404
    assert (await client.get("/staff/surveys/999999/packs")).status_code == 404
