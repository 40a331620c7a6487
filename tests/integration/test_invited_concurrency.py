"""One answer per invitation under real concurrency: `talking serve` with two workers, on SQLite and PostgreSQL.

The same invitation answered 20 times at once, through the API and through the pages (20 browsers,
each through the link to the check page, pressing Submit together): exactly one answer stored, every
other request told it was already answered, never a 500.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import invitations
from talking.testing.invitations import invite, publish_members_survey

from ..conftest import count_stored, live_server, make_member

SECRET = "live-server-secret-key"  # live_server's
AT_ONCE = 20


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


async def used_days(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(invitations.c.used_on))).scalars())


async def test_one_invitation_sent_twenty_times_at_once_through_the_api(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    survey_id = await publish_members_survey(engine)
    token = await invite(engine, SECRET, survey_id, await make_member(engine))
    body = {"picks": ["burglary", "fraud"], "invitation": token}
    with live_server(database_url, tmp_path, workers=2) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            path = f"/api/v1/surveys/{survey_id}/responses"
            # Twice: all at once on fresh connections, then again once the first has been stored.
            answers = await asyncio.gather(*(http.post(path, json=body) for _ in range(AT_ONCE)))
            later = await asyncio.gather(*(http.post(path, json=body) for _ in range(AT_ONCE)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * (AT_ONCE - 1), statuses
    assert {answer.status_code for answer in later} == {409}
    assert all(a.json()["type"].endswith("/already-answered") for a in answers + later if a.status_code == 409)
    assert await count_stored(engine) == (1, 2)
    assert len([day for day in await used_days(engine) if day is not None]) == 1


async def browser_at_check(base_url: str, token: str) -> tuple[httpx.AsyncClient, str, str]:
    """A new browser that followed the link and answered up to the check page: (client, check URL, CSRF token)."""
    browser = httpx.AsyncClient(base_url=base_url, timeout=30)
    landing = await browser.get(f"/i/{token}")
    assert landing.status_code == 200, landing.text[:1000]
    url = re.search(r'href="([^"]+)"[^>]*class="[^"]*govuk-button--start', landing.text, re.S).group(1)  # type: ignore[union-attr]
    answers = {"issues": {"picks": ["burglary"]}, "comment": {"comment": ""}, "about-you": {}}
    while True:
        page = await browser.get(url)
        assert page.status_code == 200, (url, page.text[:1000])
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        if url.endswith("/check"):
            return browser, url, csrf
        sent = await browser.post(url, data={"_csrf_token": csrf, **answers[url.rsplit("/", 1)[1]]})
        assert sent.status_code == 303, (url, sent.text[:1000])
        url = sent.headers["location"]


async def test_one_invitation_submitted_from_twenty_browsers_at_once(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    survey_id = await publish_members_survey(engine)
    token = await invite(engine, SECRET, survey_id, await make_member(engine))
    with live_server(database_url, tmp_path, workers=2) as server:
        browsers = [await browser_at_check(server.url, token) for _ in range(AT_ONCE)]
        try:
            sent = await asyncio.gather(
                *(browser.post(url, data={"_csrf_token": csrf}) for browser, url, csrf in browsers)
            )
        finally:
            for browser, _url, _csrf in browsers:
                await browser.aclose()
    statuses = sorted(answer.status_code for answer in sent)
    assert statuses == [303] + [409] * (AT_ONCE - 1), statuses
    assert all("You have already answered this survey" in a.text for a in sent if a.status_code == 409)
    assert await count_stored(engine) == (1, 1)
