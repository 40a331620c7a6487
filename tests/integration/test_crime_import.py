"""Importing police.uk files into the database: counts by month, force, district and crime type; a
month imported again replaced in one transaction; concurrent imports; the command as an operator
runs it (several files, a bad one refused with a non-zero exit). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.crime import services
from talking.crime.police_file import read_bytes, read_path
from talking.db.engine import immediate
from talking.db.models import audit_events, crime_counts, crime_imports

from ..conftest import talking

FIXTURES = Path(__file__).parents[1] / "fixtures" / "police_uk"
SLICE = FIXTURES / "2022-10-lancashire-street-every-10th.csv"
HEADER = "Month,Falls within,LSOA code,LSOA name,Crime type\n"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    return each_database_url


async def stored(engine: AsyncEngine) -> dict[tuple[str, str, str, str], int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                crime_counts.c.month,
                crime_counts.c.force,
                crime_counts.c.district_code,
                crime_counts.c.crime_type,
                crime_counts.c.incidents,
            )
        )
        return {(m, f, d, t): n for m, f, d, t, n in rows}


async def store(engine: AsyncEngine, content: bytes, name: str = "file.csv"):
    found = read_bytes(content)
    async with immediate(engine).begin() as conn:
        return await services.store_file(conn, found, name, via="command")


async def test_the_real_slice_is_stored_by_district_and_logged(engine: AsyncEngine) -> None:
    report = await store(engine, SLICE.read_bytes(), SLICE.name)
    assert (report.rows_read, report.rows_stored, report.rows_outside, report.rows_without_location) == (
        1584,
        1519,
        6,
        59,
    )
    assert report.months == ["2022-10"] and report.replaced == []
    counts = await stored(engine)
    assert sum(counts.values()) == 1519
    assert sum(n for (_m, _f, d, _t), n in counts.items() if d == "E07000123") == 212
    async with engine.connect() as conn:
        log = (await conn.execute(select(crime_imports))).one()
        action = (await conn.execute(select(audit_events.c.action))).scalar_one()
    assert (log.file_name, log.months, log.forces, log.rows_read, log.rows_refused, log.imported_via) == (
        SLICE.name,
        "2022-10",
        "Lancashire Constabulary",
        1584,
        0,
        "command",
    )
    assert action == "crime_imported"


async def test_importing_a_month_again_replaces_it_and_leaves_other_months_and_forces(engine: AsyncEngine) -> None:
    first = HEADER + "2022-10,Lancashire Constabulary,,Preston 001A,Burglary\n" * 3
    first += "2022-11,Lancashire Constabulary,,Preston 001A,Burglary\n"
    first += "2022-10,Merseyside Police,,West Lancashire 001A,Drugs\n"
    await store(engine, first.encode())
    again = HEADER + "2022-10,Lancashire Constabulary,,Wyre 002B,Drugs\n"
    report = await store(engine, again.encode())
    assert report.replaced == ["2022-10 Lancashire Constabulary"]
    assert await stored(engine) == {
        ("2022-10", "Lancashire Constabulary", "E07000128", "Drugs"): 1,
        ("2022-11", "Lancashire Constabulary", "E07000123", "Burglary"): 1,
        ("2022-10", "Merseyside Police", "E07000127", "Drugs"): 1,
    }


async def test_a_failure_part_way_leaves_the_month_as_it_was(engine: AsyncEngine) -> None:
    await store(engine, (HEADER + "2022-10,Lancashire Constabulary,,Preston 001A,Burglary\n").encode())
    found = read_bytes((HEADER + "2022-10,Lancashire Constabulary,,Wyre 001A,Drugs\n").encode())
    found.counts[("2022-10", "Lancashire Constabulary", "E99999999", "Drugs")] = 1  # no such district: FK refuses
    with pytest.raises(Exception, match=r"(?i)foreign key|violates"):
        async with immediate(engine).begin() as conn:
            await services.store_file(conn, found, "broken.csv", via="command")
    assert await stored(engine) == {("2022-10", "Lancashire Constabulary", "E07000123", "Burglary"): 1}


async def test_concurrent_imports_of_the_same_month_end_as_one_of_them(engine: AsyncEngine) -> None:
    files = [(HEADER + "2022-10,Lancashire Constabulary,,Preston 001A,Burglary\n" * (n + 1)).encode() for n in range(6)]
    reports = await asyncio.gather(*(store(engine, content, f"f{n}.csv") for n, content in enumerate(files)))
    assert len(reports) == 6
    counts = await stored(engine)
    assert list(counts) == [("2022-10", "Lancashire Constabulary", "E07000123", "Burglary")]
    assert 1 <= counts[("2022-10", "Lancashire Constabulary", "E07000123", "Burglary")] <= 6
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(crime_imports))).scalar_one() == 6


async def test_the_command_imports_several_files_and_refuses_a_bad_one(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    shutil.copy(SLICE, tmp_path / "2022-10.csv")
    (tmp_path / "2022-11.csv").write_text(HEADER + "2022-11,Lancashire Constabulary,E01,Chorley 003C,Drugs\n")
    (tmp_path / "bad.csv").write_text(HEADER + "Nov 2022,Lancashire Constabulary,,Chorley 003C,Drugs\n")
    done = talking("crime", "import", "2022-10.csv", "bad.csv", "2022-11.csv", database_url=database_url, cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("2022-10.csv: rows outside the 14 areas, not stored: ")
    assert lines[1] == (
        "2022-10.csv: 2022-10 (Lancashire Constabulary): read 1,584 rows, stored 1,519 in the 14 areas,"
        " 6 outside them, 59 without a location, refused 0"
    )
    assert lines[2].startswith("2022-11.csv: 2022-11 (Lancashire Constabulary): read 1 rows, stored 1")
    assert "bad.csv: refused, nothing imported: Line 2: the month 'Nov 2022' is not a month" in done.stderr
    assert "Error: 1 of 3 file(s) refused" in done.stderr
    assert "2022-10.csv: 100%" in done.stderr  # the progress bar
    assert sum((await stored(engine)).values()) == 1520
    again = talking("crime", "import", "2022-10.csv", database_url=database_url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "replaced 2022-10 Lancashire Constabulary" in again.stdout
    assert sum((await stored(engine)).values()) == 1520


def test_reading_from_disk_reports_progress_to_the_end() -> None:
    seen: list[int] = []
    read_path(SLICE, progress=seen.append)
    assert sum(seen) == SLICE.stat().st_size  # characters, one a byte in this ASCII file (CRLF kept)


async def test_talking_report_carries_recorded_crime_in_json_and_html(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    assert talking("demo", "--responses", "600", database_url=database_url, cwd=tmp_path).returncode == 0
    assert talking("crime", "import", str(SLICE), database_url=database_url, cwd=tmp_path).returncode == 0
    out = tmp_path / "report.json"
    done = talking("report", "1", "--format", "json", "--out", str(out), database_url=database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    crime = json.loads(out.read_text())["recorded_crime"]
    assert crime["months"] == ["2022-10"] and {i["code"] for i in crime["issues"]} >= {"burglary"}
    page = tmp_path / "report.html"
    done = talking("report", "1", "--format", "html", "--out", str(page), database_url=database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert 'id="crime"' in html and "Recorded crime beside concern" in html and "Spearman" in html
