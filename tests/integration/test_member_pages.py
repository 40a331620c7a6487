"""The staff page for importing members: the same rows refused for the same reasons as the command,
a report after a redirect, staff only, and an unreadable file refused with nothing stored."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, members

from ..conftest import make_user
from .staff_helpers import csrf_from, error_summary, sign_in, text_of, title

Client = AsyncTestClient[Litestar]
IMPORT = "/staff/members/import"
FILE = b"email,postcode,district\nann@example.org,PR1 2HE,\nbob@example.org,,Chorley\nnot-an-email,,Wyre\n"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    return each_database_url


async def upload(client: Client, content: bytes, *, name: str = "export.csv", dry_run: bool = False):
    shown = await client.get(IMPORT)
    assert shown.status_code == 200
    data = {"_csrf_token": csrf_from(shown.text), **({"dry_run": "yes"} if dry_run else {})}
    return await client.post(IMPORT, data=data, files={"file": (name, content, "text/csv")}, follow_redirects=False)


async def count_members(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(members))).scalar_one()


async def test_staff_upload_a_file_and_read_the_report(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, "staff@example.org", "staff")
    await sign_in(client, "staff@example.org")
    sent = await upload(client, FILE)
    assert sent.status_code == 303 and sent.headers["location"] == f"{IMPORT}/report"
    report = await client.get(f"{IMPORT}/report")
    assert report.status_code == 200 and report.headers["cache-control"] == "no-store"
    text = text_of(report.text)
    assert title(report.text).startswith("Members imported")
    assert "New members added 2" in text and "Rows refused 1" in text
    assert "4 'not-an-email' is not an email address" in text
    assert await count_members(engine) == 2
    async with engine.connect() as conn:
        actor = (
            await conn.execute(select(audit_events.c.actor_email).where(audit_events.c.action == "members_imported"))
        ).scalar_one()
    assert actor == "staff@example.org"


async def test_a_dry_run_reports_and_stores_nothing(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, "staff@example.org", "staff")
    await sign_in(client, "staff@example.org")
    await upload(client, FILE, dry_run=True)
    report = await client.get(f"{IMPORT}/report")
    assert "Members checked" in title(report.text) and "nothing was stored" in text_of(report.text)
    assert await count_members(engine) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,town\nAnn,Preston\n", "must name the columns"),
        ("email,district\na@b.org,Pr\xe9ston\n".encode("latin-1"), "not UTF-8"),
    ],
)
async def test_an_unreadable_file_gets_an_error_summary(
    client: Client, engine: AsyncEngine, content: bytes, message: str
) -> None:
    await make_user(engine, "staff@example.org", "staff")
    await sign_in(client, "staff@example.org")
    refused = await upload(client, content)
    assert refused.status_code == 422
    [(href, text)] = error_summary(refused.text)
    assert href == "#file" and message in text and "nothing was imported" in text
    assert await count_members(engine) == 0


async def test_no_file_chosen_is_a_clear_error(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, "staff@example.org", "staff")
    await sign_in(client, "staff@example.org")
    shown = await client.get(IMPORT)
    refused = await client.post(IMPORT, data={"_csrf_token": csrf_from(shown.text)}, follow_redirects=False)
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#file", "Select a CSV file to upload")]


async def test_analysts_and_strangers_cannot_import(client: Client, engine: AsyncEngine) -> None:
    assert (await client.get(IMPORT, follow_redirects=False)).status_code == 303  # to sign in
    await make_user(engine, "analyst@example.org", "analyst")
    await sign_in(client, "analyst@example.org")
    assert (await client.get(IMPORT)).status_code == 403
    assert (await client.get(f"{IMPORT}/report", follow_redirects=False)).status_code == 403


async def test_the_report_page_without_an_import_goes_to_the_form(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, "staff@example.org", "staff")
    await sign_in(client, "staff@example.org")
    gone = await client.get(f"{IMPORT}/report", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == IMPORT
