"""The resident pages through the real app on a fresh SQLite file: journey, errors, CSRF, order, change links.

Every test runs twice: through Litestar alone, and with the fast path for resident pages in front
(surveys/fast_pages.py, what `talking serve` runs). test_fast_pages.py compares the two byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import response_answers, response_picks, responses, surveys
from talking.questionnaires.schemas import QuestionCreate, SurveyCreate
from talking.questionnaires.services import create_survey, publish
from talking.surveys.fast_pages import FastPages
from talking.surveys.references import REFERENCE_PATTERN

from ..conftest import DEMO_ISSUES, count_stored, publish_survey

Client = AsyncTestClient[Litestar]

PRESTON = "E07000123"
# Three of the test survey's eight issues, in the order the resident ranks them.
RANKED = ["road-safety", "burglary", "anti-social-behaviour"]


@pytest.fixture(params=["litestar", "fast-pages"])
async def client(app: Litestar, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A client of the app in-process: through Litestar alone, or through the fast path in front of it."""
    served = app if request.param == "litestar" else FastPages(app)
    async with AsyncTestClient(app=served) as test_client:  # type: ignore[arg-type]
        yield test_client


# --- reading pages -----------------------------------------------------------------------------


def title(html: str) -> str:
    """The page's <title>, whitespace collapsed."""
    found = re.search(r"<title[^>]*>(.*?)</title>", html, re.S)
    assert found, "page has no <title>"
    return " ".join(unescape(found.group(1)).split())


def h1s(html: str) -> list[str]:
    """The text of every <h1> (or legend/label styled as the page heading)."""
    return [" ".join(re.sub(r"<[^>]+>", "", m).split()) for m in re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)]


def error_summary(html: str) -> list[tuple[str, str]]:
    """(href, message) for each link in the "There is a problem" summary."""
    found = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    if not found:
        return []
    assert "There is a problem" in found.group(0)
    return [
        (unescape(href), " ".join(unescape(text).split()))
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', found.group(0), re.S)
    ]


def field_errors(html: str) -> list[str]:
    """The field-level error messages, without their visually hidden "Error:" prefix."""
    messages = re.findall(r'<p id="[^"]+-error" class="govuk-error-message">(.*?)</p>', html, re.S)
    return [" ".join(unescape(re.sub(r"<span[^>]*>Error:</span>", "", m)).split()) for m in messages]


def back_link(html: str) -> str | None:
    """Where the Back link goes."""
    found = re.search(r'<a href="([^"]+)" class="govuk-back-link"', html)
    return unescape(found.group(1)) if found else None


def checked(html: str, name: str) -> list[str]:
    """Values of the checked radios or checkboxes called ``name``."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return [re.search(r'value="([^"]*)"', i).group(1) for i in inputs if " checked" in i]


def selected(html: str, name: str) -> str | None:
    """The selected option of the select called ``name``."""
    found = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert found, f"no select {name}"
    option = re.search(r'<option value="([^"]*)" selected>', found.group(1))
    return option.group(1) if option else None


# --- answering ---------------------------------------------------------------------------------


async def csrf_token(client: Client, survey_id: int) -> str:
    """A CSRF token from a page's form (the cookie comes with it).

    A closed survey's pages have no form; the cookie's own token is as good, as a forger would lack it.
    """
    page = await client.get(f"/surveys/{survey_id}/district")
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    return found.group(1) if found else client.cookies["talking_csrf"]


async def answer(client: Client, survey_id: int, page: str, data: dict[str, object], *, change: bool = False):
    """POST one page's form with a valid CSRF token; redirects are not followed."""
    token = await csrf_token(client, survey_id)
    url = f"/surveys/{survey_id}/{page}" + ("?change=1" if change else "")
    return await client.post(url, data={"_csrf_token": token, **data}, follow_redirects=False)


async def answer_up_to(client: Client, survey_id: int, last: str) -> None:
    """Answer every page up to and including ``last`` with good answers."""
    steps = [
        ("district", {"district": PRESTON}),
        ("issues", {"picks": sorted(RANKED)}),
        ("order", {f"position-{code}": str(n) for n, code in enumerate(RANKED, start=1)}),
        ("comment", {"comment": "The junction by the school\r\nneeds a crossing."}),
        ("about-you", {"age_band": "35-44", "sex": "prefer-not-to-say"}),
    ]
    for page, data in steps:
        response = await answer(client, survey_id, page, data)
        assert response.status_code == 303, (page, response.text[:2000])
        if page == last:
            return


async def publish_custom(engine: AsyncEngine, **fields: object) -> int:
    """Create and publish a survey of our own (open now), through the staff services."""
    now = datetime.now(UTC)
    data = SurveyCreate(
        **{  # type: ignore[arg-type]
            "title": "Safer streets",
            "issues": ("road-safety", "burglary", "fraud", "speeding"),
            "max_picks": 3,
            "opens_at": now - timedelta(days=1),
            "closes_at": now + timedelta(days=7),
            **fields,
        }
    )
    async with engine.begin() as conn:
        survey_id = await create_survey(conn, data)
        await publish(conn, survey_id)
    return survey_id


async def set_survey(engine: AsyncEngine, survey_id: int, **values: object) -> None:
    """Change a survey behind the app's back (before the app first reads it: it caches definitions)."""
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == survey_id).values(**values))


# --- the journey -------------------------------------------------------------------------------


async def test_home_lists_open_surveys(client: Client, open_survey: int) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert f'href="/surveys/{open_survey}"' in page.text
    assert "Lancashire Talking test survey" in page.text
    assert "Closes at" in page.text
    assert title(page.text) == "Have your say about community safety in Lancashire - Lancashire Talking"


async def test_home_without_open_surveys_says_so(client: Client) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert "There are no surveys open at the moment" in page.text


async def test_start_page(client: Client, open_survey: int) -> None:
    page = await client.get(f"/surveys/{open_survey}")
    assert page.status_code == 200
    assert title(page.text) == "Lancashire Talking test survey - Lancashire Talking"
    assert "Tell us what matters where you live." in page.text
    assert f'href="/surveys/{open_survey}/district"' in page.text
    assert "Start now" in page.text
    assert "up to 5" in page.text


async def test_full_journey_stores_the_response(client: Client, open_survey: int, engine: AsyncEngine) -> None:
    base = f"/surveys/{open_survey}"
    titles = set()
    for page, expected_next in [
        ("district", "issues"),
        ("issues", "order"),
        ("order", "comment"),
        ("comment", "about-you"),
        ("about-you", "check"),
    ]:
        shown = await client.get(f"{base}/{page}")
        assert shown.status_code == 200, page
        assert len(h1s(shown.text)) == 1, page
        titles.add(title(shown.text))
        await answer_up_to(client, open_survey, page)
        after = await client.get(f"{base}/{page}")
        assert after.status_code == 200
        # the next page is reachable now
        assert (await client.get(f"{base}/{expected_next}", follow_redirects=False)).status_code == 200

    check = await client.get(f"{base}/check")
    titles.add(title(check.text))
    assert "Preston" in check.text
    assert re.search(r"<li>Road safety</li>\s*<li>Burglary</li>\s*<li>Anti-social behaviour</li>", check.text)
    assert "The junction by the school\nneeds a crossing." in unescape(check.text)
    assert "35 to 44" in check.text and "Prefer not to say" in check.text
    assert back_link(check.text) == f"{base}/about-you"
    assert await count_stored(engine) == (0, 0)

    token = await csrf_token(client, open_survey)
    sent = await client.post(f"{base}/check", data={"_csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{base}/done"

    done = await client.get(f"{base}/done")
    assert done.status_code == 200
    titles.add(title(done.text))
    reference = re.search(f"<strong>({REFERENCE_PATTERN})</strong>", done.text).group(1)
    assert "govuk-panel--confirmation" in done.text
    assert "What happens next" in done.text

    async with engine.connect() as conn:
        stored = (await conn.execute(select(responses))).one()
        picks = (
            (
                await conn.execute(
                    select(response_picks.c.issue_code)
                    .where(response_picks.c.response_id == stored.id)
                    .order_by(response_picks.c.rank)
                )
            )
            .scalars()
            .all()
        )
    assert stored.reference == reference
    assert stored.district_code == PRESTON
    assert stored.comment == "The junction by the school\nneeds a crossing."
    assert (stored.age_band, stored.sex, stored.channel) == ("35-44", "prefer-not-to-say", "web")
    assert list(picks) == RANKED

    # The answers are forgotten: a new journey starts at the first question.
    again = await client.get(f"{base}/check", follow_redirects=False)
    assert again.headers["location"] == f"{base}/district"
    assert checked((await client.get(f"{base}/district")).text, "district") == []
    assert len(titles) == 7, titles
    assert all(t.endswith(" - Lancashire Talking test survey - Lancashire Talking") for t in titles)


async def test_submit_twice_stores_one_response(client: Client, open_survey: int, engine: AsyncEngine) -> None:
    await answer_up_to(client, open_survey, "about-you")
    first = await answer(client, open_survey, "check", {})
    second = await answer(client, open_survey, "check", {})
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == f"/surveys/{open_survey}/done"
    assert (await count_stored(engine))[0] == 1


async def test_optional_pages_can_be_left_blank(client: Client, open_survey: int, engine: AsyncEngine) -> None:
    await answer_up_to(client, open_survey, "order")
    assert (await answer(client, open_survey, "comment", {"comment": "  "})).status_code == 303
    assert (await answer(client, open_survey, "about-you", {})).status_code == 303
    check = await client.get(f"/surveys/{open_survey}/check")
    assert check.text.count("Not answered") == 2
    assert (await answer(client, open_survey, "check", {})).status_code == 303
    async with engine.connect() as conn:
        stored = (await conn.execute(select(responses))).one()
    assert (stored.comment, stored.age_band, stored.sex) == (None, None, None)


async def test_one_pick_needs_no_ordering(client: Client, open_survey: int) -> None:
    await answer_up_to(client, open_survey, "district")
    response = await answer(client, open_survey, "issues", {"picks": "burglary"})
    assert response.headers["location"] == f"/surveys/{open_survey}/comment"
    comment = await client.get(f"/surveys/{open_survey}/comment")
    assert back_link(comment.text) == f"/surveys/{open_survey}/issues"
    order = await client.get(f"/surveys/{open_survey}/order", follow_redirects=False)
    assert order.status_code == 303
    assert order.headers["location"] == f"/surveys/{open_survey}/comment"


async def test_back_links(client: Client, open_survey: int) -> None:
    await answer_up_to(client, open_survey, "about-you")
    base = f"/surveys/{open_survey}"
    previous = {
        "district": base,
        "issues": f"{base}/district",
        "order": f"{base}/issues",
        "comment": f"{base}/order",
        "about-you": f"{base}/comment",
        "check": f"{base}/about-you",
    }
    for page, back in previous.items():
        assert back_link((await client.get(f"{base}/{page}")).text) == back, page
        assert back_link((await client.get(f"{base}/{page}?change=1")).text) == (
            back if page == "check" else f"{base}/check"
        ), page


async def test_each_page_shows_the_saved_answer(client: Client, open_survey: int) -> None:
    await answer_up_to(client, open_survey, "about-you")
    base = f"/surveys/{open_survey}"
    assert checked((await client.get(f"{base}/district")).text, "district") == [PRESTON]
    assert sorted(checked((await client.get(f"{base}/issues")).text, "picks")) == sorted(RANKED)
    order = (await client.get(f"{base}/order")).text
    assert [selected(order, f"position-{code}") for code in RANKED] == ["1", "2", "3"]
    assert "needs a crossing." in (await client.get(f"{base}/comment")).text
    about = (await client.get(f"{base}/about-you")).text
    assert checked(about, "age_band") == ["35-44"]
    assert checked(about, "sex") == ["prefer-not-to-say"]


# --- refusals ----------------------------------------------------------------------------------

TOO_LONG = "x" * 2_001

REFUSALS = [
    pytest.param(
        "district", {}, "postcode", "Enter your postcode, or choose your area from the list", id="district-missing"
    ),
    pytest.param("district", {"postcode": "my house"}, "postcode", "Enter a full postcode", id="postcode-not-one"),
    pytest.param(
        "district", {"postcode": "M1 1AE"}, "postcode", "choose your area from the list", id="postcode-outside"
    ),
    pytest.param("district", {"district": "E99999999"}, "district", "Unknown district code", id="district-unknown"),
    pytest.param("issues", {}, "picks", "Select at least one issue", id="picks-none"),
    pytest.param(
        "issues",
        {"picks": list(DEMO_ISSUES[:6])},
        "picks",
        "Select no more than 5 issues",
        id="picks-too-many",
    ),
    pytest.param(
        "issues",
        {"picks": ["burglary", "speeding"]},
        "picks",
        "is not one of this survey's issues",
        id="picks-not-offered",
    ),
    pytest.param(
        "order",
        {"position-road-safety": "1", "position-burglary": "2"},
        "position-anti-social-behaviour",
        "Select a number for Anti-social behaviour",
        id="order-missing",
    ),
    pytest.param(
        "order",
        {"position-road-safety": "1", "position-burglary": "1", "position-anti-social-behaviour": "2"},
        "position-road-safety",
        "Give Road safety a different number from Burglary",
        id="order-shared",
    ),
    pytest.param(
        "order",
        {"position-road-safety": "1", "position-burglary": "2", "position-anti-social-behaviour": "9"},
        "position-anti-social-behaviour",
        "Select a number for Anti-social behaviour",
        id="order-out-of-range",
    ),
    pytest.param("comment", {"comment": TOO_LONG}, "comment", "2,000 characters or fewer", id="comment-too-long"),
    pytest.param("comment", {"comment": "nul\x00here"}, "comment", "control characters", id="comment-nul"),
    pytest.param("comment", {"comment": "red\x1b[31m"}, "comment", "control characters", id="comment-escape"),
    pytest.param("comment", {"comment": "a\x85b"}, "comment", "control characters", id="comment-c1"),
    pytest.param("comment", {"comment": "abc\u202edcb"}, "comment", "direction", id="comment-bidi-override"),
    pytest.param("comment", {"comment": "\u2067abc"}, "comment", "direction", id="comment-bidi-isolate"),
    pytest.param("about-you", {"age_band": "12-15"}, "age_band", "Unknown age band", id="age-band-unknown"),
    pytest.param("about-you", {"sex": "x"}, "sex", "Unknown answer for sex", id="sex-unknown"),
]

PREVIOUS = {"district": None, "issues": "district", "order": "issues", "comment": "order", "about-you": "comment"}


@pytest.mark.parametrize(("page", "data", "field", "message"), REFUSALS)
async def test_refused_answer_is_422_with_summary_and_kept(
    client: Client, open_survey: int, engine: AsyncEngine, page: str, data: dict, field: str, message: str
) -> None:
    if PREVIOUS[page]:
        await answer_up_to(client, open_survey, PREVIOUS[page])
    response = await answer(client, open_survey, page, data)
    assert response.status_code == 422
    html = response.text
    assert title(html).startswith("Error: ")
    summary = error_summary(html)
    assert summary, "no error summary"
    assert any(href == f"#{field}" and message in text for href, text in summary), summary
    assert any(message in text for text in field_errors(html)), field_errors(html)
    assert re.search(rf'id="{re.escape(field)}"', html), f"the summary links to #{field}, which is not on the page"
    # what the resident sent is still there
    if page == "district" and data:
        assert checked(html, "district") == []  # an unknown code is not one of the radios
    if page == "issues" and data:
        kept = [code for code in data["picks"] if code != "speeding"]
        assert sorted(checked(html, "picks")) == sorted(kept)
    if page == "order":
        assert selected(html, "position-road-safety") == data["position-road-safety"]
    if page == "comment" and data["comment"] == TOO_LONG:
        assert TOO_LONG in html
    if page == "comment" and "\x00" in data["comment"]:
        assert "nulhere" in html
    # and nothing moved on: the answer was not saved, and nothing was stored
    assert await count_stored(engine) == (0, 0)
    if page != "district":
        following = await client.get(f"/surveys/{open_survey}/check", follow_redirects=False)
        assert following.headers["location"] == f"/surveys/{open_survey}/{page}"


async def test_order_errors_name_every_problem(client: Client, open_survey: int) -> None:
    await answer_up_to(client, open_survey, "issues")
    response = await answer(client, open_survey, "order", {"position-road-safety": "2", "position-burglary": "2"})
    assert response.status_code == 422
    assert error_summary(response.text) == [
        ("#position-anti-social-behaviour", "Select a number for Anti-social behaviour"),
        ("#position-burglary", "Give Burglary a different number from Road safety"),
        ("#position-road-safety", "Give Road safety a different number from Burglary"),
    ]


async def test_missing_csrf_token_is_403(client: Client, open_survey: int, engine: AsyncEngine) -> None:
    await client.get(f"/surveys/{open_survey}/district")  # the CSRF cookie is set
    for data in ({"district": PRESTON}, {"district": PRESTON, "_csrf_token": "forged"}):
        response = await client.post(f"/surveys/{open_survey}/district", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "Sorry, we could not save that" in response.text
    # nothing was kept
    assert (await client.get(f"/surveys/{open_survey}/issues", follow_redirects=False)).status_code == 303
    await answer_up_to(client, open_survey, "about-you")
    refused = await client.post(f"/surveys/{open_survey}/check", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert await count_stored(engine) == (0, 0)


@pytest.mark.parametrize(
    ("answered", "visit", "sent_to"),
    [
        (None, "issues", "district"),
        (None, "order", "district"),
        (None, "check", "district"),
        ("district", "comment", "issues"),
        ("issues", "about-you", "order"),
        ("order", "check", "comment"),
        ("comment", "check", "about-you"),
    ],
)
async def test_out_of_order_redirects_to_first_unanswered(
    client: Client, open_survey: int, answered: str | None, visit: str, sent_to: str
) -> None:
    if answered:
        await answer_up_to(client, open_survey, answered)
    shown = await client.get(f"/surveys/{open_survey}/{visit}", follow_redirects=False)
    assert shown.status_code == 303
    assert shown.headers["location"] == f"/surveys/{open_survey}/{sent_to}"
    posted = await answer(client, open_survey, visit, {})
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/surveys/{open_survey}/{sent_to}"


async def test_done_without_a_response_goes_to_start(client: Client, open_survey: int) -> None:
    response = await client.get(f"/surveys/{open_survey}/done", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/surveys/{open_survey}"


# --- change links ------------------------------------------------------------------------------


async def test_change_links_return_to_check(client: Client, open_survey: int) -> None:
    await answer_up_to(client, open_survey, "about-you")
    base = f"/surveys/{open_survey}"
    check = (await client.get(f"{base}/check")).text
    for page in ("district", "issues", "order", "comment", "about-you"):
        assert f'href="{base}/{page}?change=1"' in check, page

    changed = await answer(client, open_survey, "district", {"district": "E06000009"}, change=True)
    assert changed.headers["location"] == f"{base}/check"
    assert "Blackpool" in (await client.get(f"{base}/check")).text

    same = await answer(client, open_survey, "issues", {"picks": RANKED}, change=True)
    assert same.headers["location"] == f"{base}/check", "the same issues keep their order"

    changed = await answer(client, open_survey, "comment", {"comment": "Changed my mind."}, change=True)
    assert changed.headers["location"] == f"{base}/check"

    reordered = await answer(
        client,
        open_survey,
        "order",
        {"position-road-safety": "3", "position-burglary": "1", "position-anti-social-behaviour": "2"},
        change=True,
    )
    assert reordered.headers["location"] == f"{base}/check"
    check = (await client.get(f"{base}/check")).text
    assert re.search(r"<li>Burglary</li>\s*<li>Anti-social behaviour</li>\s*<li>Road safety</li>", check)
    assert "Changed my mind." in check


async def test_changing_issues_asks_for_the_order_again(client: Client, open_survey: int) -> None:
    await answer_up_to(client, open_survey, "about-you")
    base = f"/surveys/{open_survey}"
    changed = await answer(client, open_survey, "issues", {"picks": ["burglary", "fraud"]}, change=True)
    assert changed.headers["location"] == f"{base}/order?change=1"
    assert (await client.get(f"{base}/check", follow_redirects=False)).headers["location"] == f"{base}/order"
    order = await client.get(f"{base}/order?change=1")
    assert back_link(order.text) == f"{base}/check"
    assert 'name="position-fraud"' in order.text and 'name="position-road-safety"' not in order.text
    done = await answer(client, open_survey, "order", {"position-fraud": "1", "position-burglary": "2"}, change=True)
    assert done.headers["location"] == f"{base}/check"
    assert re.search(r"<li>Fraud and scams</li>\s*<li>Burglary</li>", (await client.get(f"{base}/check")).text)


async def test_refused_change_stays_in_change_mode(client: Client, open_survey: int) -> None:
    await answer_up_to(client, open_survey, "about-you")
    refused = await answer(client, open_survey, "district", {}, change=True)
    assert refused.status_code == 422
    assert back_link(refused.text) == f"/surveys/{open_survey}/check"
    assert "Preston" in (await client.get(f"/surveys/{open_survey}/check")).text


# --- surveys that are not open -----------------------------------------------------------------


async def test_unknown_survey_is_page_not_found(client: Client) -> None:
    for path in ("/surveys/999", "/surveys/999/district", "/surveys/999/check", "/surveys/999/done"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert title(response.text) == "Page not found - Lancashire Talking"


async def test_draft_survey_is_page_not_found(client: Client, open_survey: int, engine: AsyncEngine) -> None:
    await set_survey(engine, open_survey, status="draft")
    assert (await client.get(f"/surveys/{open_survey}")).status_code == 404
    assert (await client.get(f"/surveys/{open_survey}/district")).status_code == 404
    assert f"/surveys/{open_survey}" not in (await client.get("/")).text


@pytest.mark.parametrize(
    ("change", "heading"),
    [
        ({"status": "closed"}, "This survey has closed"),
        ({"closes_at": datetime.now(UTC) - timedelta(hours=1)}, "This survey has closed"),
        ({"opens_at": datetime.now(UTC) + timedelta(days=2)}, "This survey is not open yet"),
    ],
    ids=["closed", "past-closing", "not-yet-open"],
)
async def test_survey_not_open_says_so(
    client: Client, open_survey: int, engine: AsyncEngine, change: dict, heading: str
) -> None:
    await set_survey(engine, open_survey, **change)
    for path in ("", "/district", "/check"):
        page = await client.get(f"/surveys/{open_survey}{path}")
        assert page.status_code == 200
        assert h1s(page.text) == [heading]
        assert "Start now" not in page.text
    posted = await answer(client, open_survey, "district", {"district": PRESTON})
    assert posted.status_code == 409
    assert h1s(posted.text) == [heading]
    assert f'href="/surveys/{open_survey}"' not in (await client.get("/")).text


async def test_survey_closing_before_submit(client: Client, open_survey: int, engine: AsyncEngine) -> None:
    await answer_up_to(client, open_survey, "about-you")
    # Closed by staff meanwhile; this worker's cached definition still says open, the writer checks again.
    await set_survey(engine, open_survey, status="closed")
    refused = await answer(client, open_survey, "check", {})
    assert refused.status_code == 409
    assert h1s(refused.text) == ["This survey has closed"]
    assert await count_stored(engine) == (0, 0)


# --- surveys with their own questions, fewer districts, no "about you" ---------------------------

QUESTIONS = (
    QuestionCreate(
        kind="single_choice",
        key="safe-at-night",
        prompt="How safe do you feel outside after dark?",
        options=("Very safe", "Fairly safe", "Not very safe", "Not at all safe"),
        required=True,
    ),
    QuestionCreate(
        kind="multiple_choice",
        key="where",
        prompt="Where do these problems happen?",
        hint="Think of the last year.",
        options=("Town centre", "Parks", "Near schools"),
    ),
    QuestionCreate(
        kind="agreement", key="police-listen", prompt="The police listen to people round here", required=True
    ),
    QuestionCreate(kind="free_text", key="one-change", prompt="What one change would make your area safer?"),
)


async def test_extra_questions_coverage_and_no_about_you(client: Client, engine: AsyncEngine) -> None:
    survey_id = await publish_custom(engine, questions=QUESTIONS, districts=(PRESTON, "E06000009"), ask_about_you=False)
    base = f"/surveys/{survey_id}"
    start = (await client.get(base)).text
    assert "4 more questions" in start and "your age and sex" not in start
    assert "This survey is for people who live in Blackpool or Preston." in start

    district = await client.get(f"{base}/district")
    assert re.findall(r'name="district" type="radio" value="([^"]+)"', district.text) == ["E06000009", PRESTON]
    refused = await answer(client, survey_id, "district", {"district": "E07000128"})
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#district", "This survey is not asking residents of Wyre")]
    assert (await answer(client, survey_id, "district", {"district": PRESTON})).status_code == 303
    assert (await answer(client, survey_id, "issues", {"picks": ["fraud", "speeding"]})).status_code == 303
    ordered = await answer(client, survey_id, "order", {"position-fraud": "2", "position-speeding": "1"})
    assert ordered.headers["location"] == f"{base}/questions/safe-at-night"

    page = await client.get(f"{base}/questions/safe-at-night")
    assert h1s(page.text) == ["How safe do you feel outside after dark?"]
    assert back_link(page.text) == f"{base}/order"
    refused = await answer(client, survey_id, "questions/safe-at-night", {})
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#answer", "Answer the question: How safe do you feel outside after dark?")]
    refused = await answer(client, survey_id, "questions/safe-at-night", {"answer": "very-very-safe"})
    assert refused.status_code == 422
    moved = await answer(client, survey_id, "questions/safe-at-night", {"answer": "fairly-safe"})
    assert moved.headers["location"] == f"{base}/questions/where"

    where = await client.get(f"{base}/questions/where")
    assert "Where do these problems happen? (optional)" in where.text and "Think of the last year." in where.text
    moved = await answer(client, survey_id, "questions/where", {"answer": ["parks", "near-schools"]})
    assert moved.headers["location"] == f"{base}/questions/police-listen"
    agreement = await client.get(f"{base}/questions/police-listen")
    assert "Neither agree nor disagree" in agreement.text
    assert (await answer(client, survey_id, "questions/police-listen", {"answer": "disagree"})).status_code == 303
    long_text = await answer(client, survey_id, "questions/one-change", {"answer": "z" * 2_001})
    assert long_text.status_code == 422
    assert "z" * 2_001 in long_text.text
    moved = await answer(client, survey_id, "questions/one-change", {"answer": "  Lights in the park.  "})
    assert moved.headers["location"] == f"{base}/comment"
    moved = await answer(client, survey_id, "comment", {})
    assert moved.headers["location"] == f"{base}/check"
    skipped = await client.get(f"{base}/about-you", follow_redirects=False)
    assert skipped.headers["location"] == f"{base}/check"

    check = (await client.get(f"{base}/check")).text
    assert back_link(check) == f"{base}/comment"
    for shown in ("Fairly safe", "Parks, Near schools", "Disagree", "Lights in the park."):
        assert shown in check, shown
    assert "Age" not in re.findall(r'<dt class="govuk-summary-list__key">\s*(.*?)\s*</dt>', check)
    assert f'href="{base}/questions/where?change=1"' in check
    changed = await answer(client, survey_id, "questions/where", {}, change=True)
    assert changed.headers["location"] == f"{base}/check"
    assert "Not answered" in (await client.get(f"{base}/check")).text

    assert (await answer(client, survey_id, "check", {})).status_code == 303
    async with engine.connect() as conn:
        stored = dict((await conn.execute(select(response_answers.c.question_key, response_answers.c.value))).all())
    assert stored == {"safe-at-night": "fairly-safe", "police-listen": "disagree", "one-change": "Lights in the park."}


async def test_unknown_question_is_page_not_found(client: Client, engine: AsyncEngine) -> None:
    survey_id = await publish_custom(engine, questions=QUESTIONS[:1])
    await answer_up_to(client, survey_id, "district")
    await answer(client, survey_id, "issues", {"picks": ["fraud"]})
    assert (await client.get(f"/surveys/{survey_id}/questions/safe-at-night")).status_code == 200
    assert (await client.get(f"/surveys/{survey_id}/questions/nope")).status_code == 404


# --- where you live: a postcode finds the area ---------------------------------------------------


@pytest.mark.parametrize("typed", ["PR1 2HE", "pr12he", "  Pr1 2hE "])
async def test_a_postcode_finds_the_area_and_is_not_kept(client: Client, open_survey: int, typed: str) -> None:
    await client.get(f"/surveys/{open_survey}")
    done = await answer(client, open_survey, "district", {"postcode": typed})
    assert done.status_code == 303
    check = await client.get(f"/surveys/{open_survey}/district")
    assert 'value="E07000123" checked' in check.text  # Preston, as if chosen from the list
    assert check.text.count("PR1 2HE") == 1  # only the hint's example: the postcode is not kept


async def test_an_area_chosen_wins_over_a_postcode(client: Client, open_survey: int) -> None:
    await client.get(f"/surveys/{open_survey}")
    done = await answer(client, open_survey, "district", {"district": "E07000128", "postcode": "PR1 2HE"})
    assert done.status_code == 303
    assert 'value="E07000128" checked' in (await client.get(f"/surveys/{open_survey}/district")).text


async def test_a_postcode_in_an_area_the_survey_does_not_ask_says_so(client: Client, engine: AsyncEngine) -> None:
    survey_id = await publish_survey(engine, districts=("E07000118",))  # Chorley only
    await client.get(f"/surveys/{survey_id}")
    refused = await answer(client, survey_id, "district", {"postcode": "PR1 2HE"})
    assert refused.status_code == 422
    assert error_summary(refused.text) == [
        ("#postcode", "PR1 2HE is in Preston: This survey is not asking residents of Preston")
    ]
    assert 'value="PR1 2HE"' in refused.text  # shown again to correct, never stored
