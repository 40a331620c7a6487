"""The invited resident's journey, /i/{token}, through the real app: on SQLite and PostgreSQL, through
Litestar alone and with the resident pages' fast path in front (what `talking serve` runs)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import invitations, members, responses, surveys
from talking.invitation_tokens import token_hash
from talking.surveys.fast_pages import FastPages
from talking.testing.invitations import invite, publish_members_survey

from ..conftest import count_stored, make_member, publish_survey
from .test_resident_pages import h1s

Client = AsyncTestClient[Litestar]
PRESTON = "E07000123"
SECRET = "test-secret-key"  # the app fixture's
RANKED = ["road-safety", "burglary"]


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture(params=["litestar", "fast-pages"])
async def client(app: Litestar, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A client of the app in-process: through Litestar alone, or through the fast path in front of it."""
    served = app if request.param == "litestar" else FastPages(app)
    async with AsyncTestClient(app=served) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture
async def members_survey(engine: AsyncEngine) -> int:
    """A published members survey, open now."""
    return await publish_members_survey(engine)


@pytest.fixture
async def token(engine: AsyncEngine, members_survey: int) -> str:
    """A Preston member's invitation to the members survey."""
    return await invite(engine, SECRET, members_survey, await make_member(engine))


def csrf(page: str) -> str:
    """The CSRF token in a page's form."""
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1)


def start_link(page: str) -> str:
    """Where the page's start button goes."""
    found = re.search(r'href="([^"]+)"[^>]*class="[^"]*govuk-button--start', page, re.S)
    assert found, page[:3000]
    return found.group(1)


async def post(client: Client, url: str, data: dict[str, object]):
    """Post a page's form: its GET first, for the CSRF token; redirects are not followed."""
    page = await client.get(url)
    assert page.status_code == 200, (url, page.status_code, page.text[:1000])
    return await client.post(url, data={"_csrf_token": csrf(page.text), **data}, follow_redirects=False)


async def answer_to_check(client: Client, survey_id: int, token: str) -> str:
    """Land from the link and answer every page the journey shows, up to the check page; its HTML."""
    landing = await client.get(f"/i/{token}")
    assert landing.status_code == 200, landing.text[:2000]
    url = start_link(landing.text)
    answers = {
        "issues": {"picks": RANKED},
        "order": {f"position-{code}": str(n) for n, code in enumerate(RANKED, start=1)},
        "comment": {"comment": ""},
        "about-you": {"age_band": "35-44"},
    }
    while not url.endswith("/check"):
        page = url.rsplit("/", 1)[1]
        sent = await post(client, url, {"answer": "Near the station"} if "/questions/" in url else answers[page])
        assert sent.status_code == 303, (page, sent.text[:2000])
        url = sent.headers["location"]
    check = await client.get(url)
    assert check.status_code == 200
    return check.text


async def submit(client: Client, survey_id: int, check_page: str):
    """Press Submit on the check page."""
    url = f"/surveys/{survey_id}/check"
    return await client.post(url, data={"_csrf_token": csrf(check_page)}, follow_redirects=False)


async def invitation_used_on(engine: AsyncEngine, token: str) -> object:
    async with engine.connect() as conn:
        query = select(invitations.c.used_on).where(invitations.c.token_hash == token_hash(token))
        return (await conn.execute(query)).scalar_one()


# --- the journey -----------------------------------------------------------------------------------


async def test_the_link_starts_the_journey_with_the_members_district(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    landing = await client.get(f"/i/{token}")
    assert landing.status_code == 200
    assert "You are answering for Preston." in landing.text
    assert f'href="/i/{token}/details">Update your details</a>' in landing.text
    assert start_link(landing.text) == f"/surveys/{members_survey}/issues"
    assert "which area of Lancashire" not in landing.text  # the district is not asked
    # The district page is not part of this journey: it sends the resident on.
    skipped = await client.get(f"/surveys/{members_survey}/district", follow_redirects=False)
    assert (skipped.status_code, skipped.headers["location"]) == (303, f"/surveys/{members_survey}/issues")
    # The survey's own start page, for this browser, is the invited one (without the token's link).
    start = await client.get(f"/surveys/{members_survey}")
    assert start.status_code == 200 and "You are answering for Preston." in start.text
    assert token not in start.text

    check = await answer_to_check(client, members_survey, token)
    assert "Preston" in check
    assert "/district?change=1" not in check  # the membership's answer is not changed here
    sent = await submit(client, members_survey, check)
    assert (sent.status_code, sent.headers["location"]) == (303, f"/surveys/{members_survey}/done")
    done = await client.get(f"/surveys/{members_survey}/done")
    assert done.status_code == 200 and "Your answers have been sent" in done.text

    async with engine.connect() as conn:
        row = (await conn.execute(select(responses))).one()
    assert (row.district_code, row.ranked_picks, row.age_band, row.channel) == (
        PRESTON,
        "road-safety burglary",
        "35-44",
        "web",
    )
    assert await invitation_used_on(engine, token) == datetime.now(UTC).date()
    # The session no longer holds the invitation: the start page is the members-only one again.
    assert (await client.get(f"/surveys/{members_survey}")).status_code == 403


async def test_known_age_band_and_sex_skip_the_about_you_page(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(members).values(age_band="65-74", sex="female"))
    check = await answer_to_check(client, members_survey, token)
    assert "/about-you?change=1" not in check
    assert "your age and sex" not in (await client.get(f"/i/{token}")).text
    assert (await submit(client, members_survey, check)).status_code == 303
    async with engine.connect() as conn:
        row = (await conn.execute(select(responses))).one()
    assert (row.age_band, row.sex) == ("65-74", "female")


async def test_following_the_link_again_carries_on_where_the_resident_was(
    client: Client, members_survey: int, token: str
) -> None:
    await client.get(f"/i/{token}")
    assert (await post(client, f"/surveys/{members_survey}/issues", {"picks": ["burglary"]})).status_code == 303
    again = await client.get(f"/i/{token}")
    assert "Continue" in again.text
    assert start_link(again.text) == f"/surveys/{members_survey}/comment"


# --- links that cannot be answered ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["A" * 43, "truncated", "changed", "A" * 44, "not-a-token", "%C3%A9" * 43, "x" * 3000, "%00" * 43],
)
async def test_bad_links_are_404_with_what_to_do(
    client: Client, engine: AsyncEngine, members_survey: int, token: str, bad: str
) -> None:
    link = {"truncated": token[:-1], "changed": token[:-1] + ("A" if token[-1] != "A" else "B")}.get(bad, bad)
    page = await client.get(f"/i/{link}")
    assert page.status_code == 404
    assert h1s(page.text) == ["This invitation link does not work"]
    assert "copied the whole link" in page.text and 'href="/join"' in page.text
    # Nothing was started: the survey is still closed to this browser.
    assert (await client.get(f"/surveys/{members_survey}")).status_code == 403


async def test_an_erased_members_link_is_410(client: Client, engine: AsyncEngine, token: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(members).values(status="erased", email=None, email_key=None, district_code=None))
    page = await client.get(f"/i/{token}")
    assert page.status_code == 410
    assert h1s(page.text) == ["This invitation can no longer be used"]


async def test_an_answered_invitation_says_so(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    check = await answer_to_check(client, members_survey, token)
    assert (await submit(client, members_survey, check)).status_code == 303
    page = await client.get(f"/i/{token}")
    assert page.status_code == 200
    assert h1s(page.text) == ["You have already answered this survey"]
    assert await count_stored(engine) == (1, 2)


async def test_a_second_browser_answering_the_same_invitation_gets_already_answered(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    first = await answer_to_check(client, members_survey, token)
    first_browser, client.cookies = client.cookies, httpx.Cookies()  # a second browser: cookies of its own
    second = await answer_to_check(client, members_survey, token)
    second_browser, client.cookies = client.cookies, first_browser
    assert (await submit(client, members_survey, first)).status_code == 303
    client.cookies = second_browser
    refused = await submit(client, members_survey, second)
    assert refused.status_code == 409
    assert h1s(refused.text) == ["You have already answered this survey"]
    # The second browser's journey is over: the survey is members-only to it again.
    assert (await client.get(f"/surveys/{members_survey}")).status_code == 403
    assert await count_stored(engine) == (1, 2)


async def test_a_closed_surveys_link_says_it_is_closed(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == members_survey).values(status="closed"))
    page = await client.get(f"/i/{token}")
    assert (page.status_code, h1s(page.text)) == (200, ["This survey has closed"])


async def test_a_survey_not_open_yet_says_when(client: Client, engine: AsyncEngine) -> None:
    later = await publish_members_survey(engine, opens_at=datetime.now(UTC) + timedelta(days=2))
    token = await invite(engine, SECRET, later, await make_member(engine))
    page = await client.get(f"/i/{token}")
    assert (page.status_code, h1s(page.text)) == (200, ["This survey is not open yet"])


async def test_a_closing_survey_refuses_the_answer_at_submit(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    check = await answer_to_check(client, members_survey, token)
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == members_survey).values(status="closed"))
    # The pages' cached definition still says open: the writer's transaction finds it closed.
    refused = await submit(client, members_survey, check)
    assert (refused.status_code, h1s(refused.text)) == (409, ["This survey has closed"])
    assert await count_stored(engine) == (0, 0)
    assert await invitation_used_on(engine, token) is None


# --- a members survey without an invitation -----------------------------------------------------------


async def test_a_members_survey_without_an_invitation_explains_and_offers_to_join(
    client: Client, engine: AsyncEngine, members_survey: int
) -> None:
    for page in ("", "/district", "/issues", "/check"):
        shown = await client.get(f"/surveys/{members_survey}{page}", follow_redirects=False)
        assert shown.status_code == 403, page
        assert h1s(shown.text) == ["This survey is for invited panel members"]
        assert 'href="/join"' in shown.text
    # Posting answers anyway stores nothing (a CSRF token from an open survey's page).
    open_survey = await publish_survey(engine)
    token = csrf((await client.get(f"/surveys/{open_survey}/district")).text)
    sent = await client.post(f"/surveys/{members_survey}/check", data={"_csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 403
    assert await count_stored(engine) == (0, 0)


async def test_the_home_page_lists_open_surveys_only(client: Client, engine: AsyncEngine, members_survey: int) -> None:
    open_survey = await publish_survey(engine, title="Everyone's survey")
    home = (await client.get("/")).text
    assert f"/surveys/{open_survey}" in home
    assert f"/surveys/{members_survey}" not in home


async def test_an_invited_journey_opens_only_its_own_survey(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    other = await publish_members_survey(engine)
    await client.get(f"/i/{token}")
    assert (await client.get(f"/surveys/{other}")).status_code == 403
