"""Importing the messaging service's members: new ones added, known ones updated (never re-subscribed),
bad rows refused with their line, a dry run storing nothing; the service on both engines, the command
as a newcomer runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, members
from talking.members import services
from talking.members.member_file import read_text_file

from ..conftest import talking

FILE = (
    "email,postcode,district,age_band,sex\n"
    "ann@example.org,PR1 2HE,,45-54,female\n"
    "bob@example.org,,Chorley,,\n"
    "not-an-email,PR1 2HE,,,\n"
    "cat@example.org,M1 1AE,,,\n"
    "ANN@example.org,,Wyre,,\n"
)


@pytest.fixture
def database_url(each_database_url: str) -> str:
    return each_database_url


async def stored(engine: AsyncEngine) -> dict[str, tuple[str | None, str, str | None, str | None]]:
    """email key -> (district, status, age band, consent version)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                members.c.email_key,
                members.c.district_code,
                members.c.status,
                members.c.age_band,
                members.c.consent_version,
            )
        )
        return {key: (district, status, age, consent) for key, district, status, age, consent in rows}


async def run_import(engine: AsyncEngine, text: str, *, dry_run: bool = False) -> services.ImportReport:
    _count, rows = read_text_file(text.encode())
    async with engine.begin() as conn:
        return await services.import_members(conn, rows, dry_run=dry_run)


async def test_new_members_are_added_active_with_imported_consent(engine: AsyncEngine) -> None:
    report = await run_import(engine, FILE)
    assert report.summary() == "imported 2, updated 0, refused 3"
    assert [(row.line, row.reason.split(":")[0]) for row in report.refused] == [
        (4, "'not-an-email' is not an email address"),
        (5, "Unknown postcode"),
        (6, "ANN@example.org is already on line 2 of this file"),
    ]
    assert await stored(engine) == {
        "ann@example.org": ("E07000123", "active", "45-54", "imported"),
        "bob@example.org": ("E07000118", "active", None, "imported"),
    }
    async with engine.connect() as conn:
        audited = (await conn.execute(select(audit_events.c.action, audit_events.c.detail))).all()
    assert audited == [("members_imported", '{"imported":2,"updated":0,"refused":3}')]


async def test_known_members_are_updated_and_an_unsubscribed_one_stays_so(engine: AsyncEngine) -> None:
    await run_import(engine, FILE)
    async with engine.begin() as conn:
        await conn.execute(
            members.update().where(members.c.email_key == "bob@example.org").values(status="unsubscribed")
        )
    report = await run_import(engine, "email,district,age_band\nAnn@Example.org,Wyre,\nbob@example.org,Pendle,65-74\n")
    assert (report.imported, report.updated, report.kept_unsubscribed) == (0, 2, 1)
    after = await stored(engine)
    assert after["ann@example.org"] == ("E07000128", "active", "45-54", "imported")  # a blank age keeps the old
    assert after["bob@example.org"] == ("E07000122", "unsubscribed", "65-74", "imported")


async def test_a_dry_run_stores_nothing_and_says_what_would_happen(engine: AsyncEngine) -> None:
    report = await run_import(engine, FILE, dry_run=True)
    assert report.summary() == "dry run, nothing stored: would have imported 2, updated 0, refused 3"
    assert await stored(engine) == {}
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(audit_events))).scalar_one() == 0


async def test_thousands_of_rows_go_in_chunks_with_progress(engine: AsyncEngine) -> None:
    lines = ["email,district"] + [f"resident{n}@example.org,Preston" for n in range(2_345)]
    counted: list[int] = []
    _count, rows = read_text_file("\n".join(lines).encode())
    async with engine.begin() as conn:
        report = await services.import_members(conn, rows, progress=counted.append)
    assert report.imported == 2_345 and sum(counted) == 2_345
    assert len(await stored(engine)) == 2_345


async def test_the_command_lists_refusals_and_ends_with_the_summary(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "export.csv"
    file.write_bytes(b"\xef\xbb\xbf" + FILE.encode())
    done = talking("members", "import", str(file), database_url=database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "line 4: 'not-an-email' is not an email address: " + done.stdout.splitlines()[0].split(": ", 2)[2],
        "line 5: Unknown postcode: M1 1AE is not a postcode we know in Lancashire, Blackburn with Darwen or"
        " Blackpool: check it, or choose your area from the list",
        "line 6: ANN@example.org is already on line 2 of this file",
        "imported 2, updated 0, refused 3",
    ]
    assert "members: 100%" in done.stderr  # the progress bar
    assert len(await stored(engine)) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,town\nAnn,Preston\n", "must name the columns"),
        ("email,district\na@b.org,Pr\xe9ston\n".encode("latin-1"), "not UTF-8"),
    ],
)
async def test_the_command_refuses_an_unreadable_file_and_stores_nothing(
    engine: AsyncEngine, database_url: str, tmp_path: Path, content: bytes, message: str
) -> None:
    file = tmp_path / "export.csv"
    file.write_bytes(content)
    done = talking("members", "import", str(file), database_url=database_url, cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert await stored(engine) == {}


async def test_an_existing_erased_member_is_never_matched(engine: AsyncEngine) -> None:
    """Erasure clears the email for good: the same address comes back as a new member."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(members).values(status="erased", joined_at=now, updated_at=now))
    report = await run_import(engine, "email,district\nann@example.org,Preston\n")
    assert (report.imported, report.updated) == (1, 0)
