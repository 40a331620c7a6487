"""Public results through the real app: publish and withdraw, the pages, quotes, updates, feeds, open data.

On SQLite and PostgreSQL. Answers come from the real writer; figures on the pages are the report
service's (the district with four answers, Wyre, must show nothing; Hyndburn, above the threshold, is shown).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from xml.etree import ElementTree as ET

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db.models import approved_quotes, published_results, responses, results_updates
from talking.results.redaction import redact
from talking.results.schemas import PublicIssue
from talking.results.story import top_story

from ..conftest import make_token, make_user, publish_survey
from .staff_helpers import Client, csrf_from, error_summary, sign_in, text_of
from .test_report_pages import ANSWERS, HYNDBURN, PRESTON, WYRE, WYRE_COMMENT, store_answers

ATOM = "{http://www.w3.org/2005/Atom}"
STAFF = "staff@lancashire.test"
PERSONAL = "Ring Mr Smith on 07700 900123 or jo@example.com, 12 Fishergate Road, PR1 2HE"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def survey(engine: AsyncEngine) -> int:
    survey_id = await publish_survey(engine)
    await store_answers(engine, survey_id, ANSWERS)
    async with engine.begin() as conn:  # one Preston comment full of personal details
        first = (
            await conn.execute(select(func.min(responses.c.id)).where(responses.c.district_code == PRESTON))
        ).scalar_one()
        await conn.execute(responses.update().where(responses.c.id == first).values(comment=PERSONAL))
    return survey_id


@pytest.fixture
async def tokens(engine: AsyncEngine) -> dict[str, str]:
    staff = await make_user(engine, STAFF, "staff")
    analyst = await make_user(engine, "analyst@lancashire.test", "analyst")
    return {"staff": await make_token(engine, staff), "analyst": await make_token(engine, analyst)}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def count(engine: AsyncEngine, table) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_publish_and_withdraw_through_the_api(client: Client, engine: AsyncEngine, survey: int, tokens) -> None:
    assert (await client.get(f"/results/{survey}")).status_code == 404
    for who, status in ((None, 401), ("analyst", 403)):
        headers = bearer(tokens[who]) if who else {}
        refused = await client.post(f"/api/v1/surveys/{survey}/results", headers=headers)
        assert refused.status_code == status
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert await count(engine, published_results) == 0

    published = await client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
    assert published.status_code == 201, published.text
    assert published.json()["stage"] == "interim"
    assert published.json()["responses"] == sum(ANSWERS.values())
    page = await client.get(f"/results/{survey}")
    assert page.status_code == 200
    for path in (f"/results/{survey}", f"/results/{survey}/{PRESTON}", f"/results/{survey}/{WYRE}"):
        assert "Interim results" in text_of((await client.get(path)).text), path
    assert f'href="/results/{survey}"' in (await client.get("/results")).text

    # Final results once closed; then a second publication is refused until withdrawn.
    assert (await client.post(f"/api/v1/surveys/{survey}/close", headers=bearer(tokens["staff"]))).status_code == 200
    final = await client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
    assert final.status_code == 201 and final.json()["stage"] == "final"
    again = await client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert "Interim" not in text_of((await client.get(f"/results/{survey}")).text)

    assert (
        await client.delete(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["analyst"]))
    ).status_code == 403
    assert (
        await client.delete(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
    ).status_code == 204
    assert (await client.get(f"/results/{survey}")).status_code == 404
    gone = await client.delete(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")


async def test_bad_publications_are_refused_and_nothing_stored(client: Client, engine: AsyncEngine, tokens) -> None:
    empty = await publish_survey(engine)
    for path, status in (
        (f"/api/v1/surveys/{empty}/results", 409),  # no answers yet
        ("/api/v1/surveys/999999/results", 404),
        ("/api/v1/surveys/0/results", 422),
        ("/api/v1/surveys/99999999999/results", 422),
    ):
        answer = await client.post(path, headers=bearer(tokens["staff"]))
        assert answer.status_code == status, (path, answer.status_code)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert await count(engine, published_results) == 0


async def test_district_pages_obey_disclosure_control(client: Client, engine: AsyncEngine, survey: int, tokens) -> None:
    assert (await client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))).status_code == 201
    page = await client.get(f"/results/{survey}/{WYRE}")
    assert page.status_code == 200
    assert "too few answers" in text_of(page.text)
    assert not re.search(r"<table", page.text)
    # No larger district is hidden for the small one's sake (the county leaves Wyre out instead).
    hyndburn = await client.get(f"/results/{survey}/{HYNDBURN}")
    assert "too few answers" not in text_of(hyndburn.text) and "against the county" in text_of(hyndburn.text)
    preston = await client.get(f"/results/{survey}/{PRESTON}")
    assert "against the county" in text_of(preston.text)
    assert "150" not in text_of((await client.get(f"/results/{survey}/{WYRE}")).text)
    assert (await client.get(f"/results/{survey}/E99999999")).status_code == 404
    assert (await client.get(f"/results/{survey}/%00")).status_code == 404
    data = json.loads((await client.get(f"/results/{survey}/data.json")).content)
    wyre = next(d for d in data["figures"]["districts"] if d["code"] == WYRE)
    assert wyre == {"code": WYRE, "name": "Wyre", "responses": None, "suppressed": True, "issues": []}
    assert "Open Government Licence" in data["licence"]["statement"] and data["method"]
    rows = list(csv.DictReader(io.StringIO((await client.get(f"/results/{survey}/data.csv")).text)))
    assert [r["issue_code"] for r in rows if r["area_code"] == WYRE] == [""]
    assert "open-government-licence" in (await client.get(f"/results/{survey}/data.csv")).headers["link"]
    assert WYRE_COMMENT not in json.dumps(data) and "example.com" not in json.dumps(data)


async def test_the_county_page_maps_the_top_issue_with_its_table(client: Client, survey: int, tokens) -> None:
    assert (await client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))).status_code == 201
    page = await client.get(f"/results/{survey}")
    svg = ET.fromstring(re.search(r"<svg[^>]*results-map.*?</svg>", page.text, re.S).group(0))
    svg_ns = "{http://www.w3.org/2000/svg}"
    links = {a.get("href"): a.get("aria-label") for a in svg.iter(f"{svg_ns}a")}
    # Each district that answered links to its own results; Wyre (too few answers) says so and no figure.
    assert f"/results/{survey}/{PRESTON}" in links and f"/results/{survey}/{WYRE}" in links
    assert "suppressed" in links[f"/results/{survey}/{WYRE}"] and not re.search(
        r"\d\.\d", links[f"/results/{survey}/{WYRE}"]
    )
    assert re.search(r"Preston: \d+\.\d, out of 100", links[f"/results/{survey}/{PRESTON}"])
    words = text_of(page.text)
    assert "the county's top issue: its priority score in each district" in words
    assert "Contains OS data © Crown copyright and database right 2022" in words  # the boundaries' licence
    assert " style=" not in page.text  # the CSP allows no inline style


def test_story_sentences_for_clear_and_overlapping_leaders() -> None:
    def issue(code: str, rank: int, rank_range: tuple[int, int]) -> PublicIssue:
        return PublicIssue(code, code.replace("-", " ").capitalize(), rank, rank_range, 50.0, (40.0, 60.0), 0.3, 0.6)

    clear = top_story(
        [issue("anti-social-behaviour", 1, (1, 1)), issue("burglary", 2, (2, 3)), issue("fraud", 3, (2, 3))]
    )
    assert clear[0] == "Anti social behaviour was the top concern, clearly ahead of the next issue."
    close = top_story(
        [issue("anti-social-behaviour", 1, (1, 2)), issue("burglary", 2, (1, 2)), issue("fraud", 3, (3, 3))]
    )
    assert close[0].startswith("Anti social behaviour and burglary were the top concerns, too close to separate")
    assert close[1] == "Next came fraud."


async def staff_client(client: Client, engine: AsyncEngine) -> Client:
    await make_user(engine, "pages@lancashire.test", "staff")
    assert (await sign_in(client, "pages@lancashire.test")).status_code == 303
    return client


async def test_quotes_are_redacted_and_never_from_a_suppressed_district(
    client: Client, engine: AsyncEngine, survey: int
) -> None:
    await staff_client(client, engine)
    base = f"/staff/surveys/{survey}/results"
    assert (
        await client.post(
            base + "/publish", data={"_csrf_token": csrf_from((await client.get(base)).text)}, follow_redirects=False
        )
    ).status_code == 303
    listing = await client.get(base + "/quotes")
    assert listing.status_code == 200
    assert WYRE_COMMENT not in listing.text  # Wyre is suppressed: its comments are not even listed
    async with engine.connect() as conn:
        personal = (await conn.execute(select(responses.c.id).where(responses.c.comment == PERSONAL))).scalar_one()
        wyre = (await conn.execute(select(responses.c.id).where(responses.c.district_code == WYRE))).first()[0]
    # Redaction, as shown to staff: every kind removed.
    shown = redact(PERSONAL).text
    for detail in ("07700 900123", "jo@example.com", "PR1 2HE", "Fishergate Road", "Smith"):
        assert detail not in shown
    csrf = csrf_from(listing.text)

    # An edited quote that puts a phone number back is refused, nothing stored.
    async def approve(response_id: int, text: str):
        form = {"_csrf_token": csrf, "response_id": str(response_id), f"quote-{response_id}": text}
        return await client.post(base + "/quotes", data=form, follow_redirects=False)

    refused = await approve(personal, "Call 01772 123456 about it")
    assert refused.status_code == 422
    assert "phone number" in error_summary(refused.text)[0][1]
    from_wyre = await approve(wyre, "Anything at all")
    assert from_wyre.status_code == 422
    assert await count(engine, approved_quotes) == 0
    approved = await approve(personal, shown)
    assert approved.status_code == 303
    public = await client.get(f"/results/{survey}")
    assert "[phone number removed]" in public.text and "07700" not in public.text
    assert "[phone number removed]" in (await client.get(f"/results/{survey}/{PRESTON}")).text


async def test_updates_on_pages_and_in_atom_feeds(client: Client, engine: AsyncEngine, survey: int) -> None:
    await staff_client(client, engine)
    base = f"/staff/surveys/{survey}/results"
    csrf = csrf_from((await client.get(base)).text)
    assert (await client.post(base + "/publish", data={"_csrf_token": csrf}, follow_redirects=False)).status_code == 303
    assert (await client.get(f"/results/{survey}/feed.atom")).status_code == 200  # cached, empty
    bad = await client.post(base + "/updates", data={"_csrf_token": csrf, "area": "nowhere", "issue": "x",
                                                      "action": "\x00", "partner": "", "done-day": "31",
                                                      "done-month": "2", "done-year": "2026"})  # fmt: skip
    assert bad.status_code == 422
    assert {href for href, _ in error_summary(bad.text)} == {"#area", "#issue", "#action", "#partner", "#done-day"}
    assert await count(engine, results_updates) == 0
    good = {"_csrf_token": csrf, "area": PRESTON, "issue": "anti-social-behaviour",
            "action": "Extra patrols in the park", "partner": "Lancashire Constabulary",
            "done-day": "1", "done-month": "11", "done-year": "2026"}  # fmt: skip
    assert (await client.post(base + "/updates", data=good, follow_redirects=False)).status_code == 303
    county_wide = {**good, "area": "county", "issue": "burglary", "action": "Free door locks for older residents"}
    assert (await client.post(base + "/updates", data=county_wide, follow_redirects=False)).status_code == 303

    district_page = text_of((await client.get(f"/results/{survey}/{PRESTON}")).text)
    assert "Extra patrols in the park" in district_page and "Free door locks" in district_page
    county_page = text_of((await client.get(f"/results/{survey}")).text)
    assert "Free door locks" in county_page and "Extra patrols" not in county_page

    feed = await client.get(f"/results/{survey}/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        assert entry.find(f"{ATOM}id").text.startswith("urn:uuid:")
        assert entry.find(f"{ATOM}updated").text.endswith("Z")
    hyndburn = ET.fromstring((await client.get(f"/results/{survey}/{HYNDBURN}/feed.atom")).content)
    assert [e.find(f"{ATOM}summary").text.startswith("Free door locks") for e in hyndburn.findall(f"{ATOM}entry")] == [
        True
    ]


async def test_anonymous_and_analysts_cannot_reach_the_staff_pages(
    client: Client, engine: AsyncEngine, survey: int
) -> None:
    assert (await client.get(f"/staff/surveys/{survey}/results", follow_redirects=False)).status_code == 303
    await make_user(engine, "reader@lancashire.test", "analyst")
    assert (await sign_in(client, "reader@lancashire.test")).status_code == 303
    assert (await client.get(f"/staff/surveys/{survey}/results")).status_code == 403
    assert (await client.get(f"/staff/surveys/{survey}/results/quotes")).status_code == 403


async def test_a_change_on_one_app_reaches_another_on_the_same_database(
    client: Client, engine: AsyncEngine, survey: int, tokens, settings
) -> None:
    """Two app instances (as two workers) share the database: the other one's cache follows the stamp."""
    import asyncio

    other_app = create_app(settings)
    async with AsyncTestClient(app=other_app) as other:
        assert (await other.get(f"/results/{survey}")).status_code == 404  # remembered as "not published"
        assert (
            await client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
        ).status_code == 201
        await asyncio.sleep(0.3)  # the other worker reads the stamp at most every 0.25 s
        assert (await other.get(f"/results/{survey}")).status_code == 200
        assert (
            await client.delete(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
        ).status_code == 204
        await asyncio.sleep(0.3)
        assert (await other.get(f"/results/{survey}")).status_code == 404


async def test_concurrent_publications_and_approvals_never_fail(
    client: Client, engine: AsyncEngine, survey: int, tokens
) -> None:
    """Staff pressing at once: one final publication wins, the others are told (409); one quote per comment."""
    import asyncio

    assert (await client.post(f"/api/v1/surveys/{survey}/close", headers=bearer(tokens["staff"]))).status_code == 200
    answers = await asyncio.gather(
        *(client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"])) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
    async with engine.connect() as conn:
        live = await conn.execute(
            select(func.count()).select_from(published_results).where(published_results.c.withdrawn_at.is_(None))
        )
        assert live.scalar_one() == 1

    await staff_client(client, engine)
    base = f"/staff/surveys/{survey}/results"
    csrf = csrf_from((await client.get(base + "/quotes")).text)
    async with engine.connect() as conn:
        comment = (
            await conn.execute(
                select(responses.c.id).where(responses.c.comment == "Speeding cars on the main road every night")
            )
        ).first()[0]
    form = {"_csrf_token": csrf, "response_id": str(comment), f"quote-{comment}": "Speeding cars on the main road"}
    approvals = await asyncio.gather(
        *(client.post(base + "/quotes", data=form, follow_redirects=False) for _ in range(3))
    )
    assert sorted(a.status_code for a in approvals) == [303, 422, 422]
    assert await count(engine, approved_quotes) == 1


async def test_staff_publish_and_withdraw_with_the_buttons(client: Client, engine: AsyncEngine, survey: int) -> None:
    await staff_client(client, engine)
    base = f"/staff/surveys/{survey}/results"
    assert f'href="/staff/surveys/{survey}/results"' in (await client.get(f"/staff/surveys/{survey}")).text
    csrf = csrf_from((await client.get(base)).text)
    assert (await client.post(base + "/withdraw", data={"_csrf_token": csrf})).status_code == 409  # nothing yet
    assert (await client.post(base + "/publish", data={"_csrf_token": csrf}, follow_redirects=False)).status_code == 303
    assert "The interim results are published" in text_of((await client.get(base)).text)
    assert (await client.get(f"/results/{survey}")).status_code == 200
    assert (
        await client.post(base + "/withdraw", data={"_csrf_token": csrf}, follow_redirects=False)
    ).status_code == 303
    assert (await client.get(f"/results/{survey}")).status_code == 404
    assert (await client.post(base + "/publish", data={}, follow_redirects=False)).status_code == 403  # no CSRF token


async def test_the_fast_path_sends_the_page_litestar_sends(app, engine: AsyncEngine, survey: int, tokens) -> None:
    """A held page, sent without Litestar's layers: the same bytes (but the nonce) and the same headers."""
    from talking.results.fast_pages import FastResults

    answered_fast: list[bool] = []
    fast = FastResults(app, then=app)

    async def watched(scope, receive, send):
        await fast(scope, receive, send)
        answered_fast.append(bool(scope.get("talking.fast_results")))

    async with AsyncTestClient(app=watched) as both:  # type: ignore[arg-type]
        assert (
            await both.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))
        ).status_code == 201
        for path in ("/results", f"/results/{survey}", f"/results/{survey}/{PRESTON}", f"/results/{survey}/{WYRE}"):
            answered_fast.clear()
            first, second = await both.get(path), await both.get(path)
            assert answered_fast == [False, True], path
            assert first.status_code == second.status_code == 200

            def nonce_free(response):
                return re.sub(r'nonce="[^"]+"', "", response.text)

            assert nonce_free(first) == nonce_free(second)
            for header in ("content-type", "x-content-type-options", "referrer-policy", "content-length"):
                assert first.headers.get(header) == second.headers.get(header), header
            assert "nonce-" in second.headers["content-security-policy"]
            assert first.headers["content-security-policy"] != second.headers["content-security-policy"]
        assert (await both.get("/results/1/E99999999")).status_code == 404
        assert 400 <= (await both.get("/results/99999999999")).status_code < 500  # as Litestar answers it


async def test_erasing_a_response_takes_its_quote_off_the_public_pages(
    client: Client, engine: AsyncEngine, survey: int, tokens
) -> None:
    from talking.results import moderation
    from talking.retention import erase_response

    assert (await client.post(f"/api/v1/surveys/{survey}/results", headers=bearer(tokens["staff"]))).status_code == 201
    async with engine.connect() as conn:
        quoted = (
            await conn.execute(select(responses.c.id, responses.c.reference).where(responses.c.comment == PERSONAL))
        ).one()
    async with engine.begin() as conn:
        await moderation.approve_quote(conn, survey, quoted.id, "A quote to erase", set(), actor=None, ip=None)
    await asyncio.sleep(0.3)  # this test wrote behind the app's back: its cache reads the stamp within 0.25 s
    assert "A quote to erase" in (await client.get(f"/results/{survey}")).text
    await erase_response(engine, quoted.reference, actor_email="staff@lancashire.test")
    assert await count(engine, approved_quotes) == 0
    await asyncio.sleep(0.3)
    assert "A quote to erase" not in (await client.get(f"/results/{survey}")).text
