"""The fast path for resident pages (surveys/fast_pages.py) answers exactly as Litestar does.

The Litestar it is compared with also renders every page afresh (its page cache is off), so the
same script holds remembered pages (templating.RememberedPage) to the pages they stand for.

One script of requests (every page, good and refused answers, change links, pages out of order,
CSRF failures, closed, draft and unknown surveys, an extra question, submitting twice) is played
by two residents on the same app and database: one through Litestar alone, one through the fast
path in front of it. Each pair of answers must be the same bytes (status, every header, body) once
what is random in them is masked: session ids, CSRF tokens, CSP nonces and response references.
The script also says which requests the fast path must answer itself and which it must hand to
Litestar (so nothing it claims is quietly served by Litestar). On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import make_url, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db.models import responses, surveys
from talking.sessions import sessions_path
from talking.settings import Settings
from talking.surveys.fast_pages import ANSWERED_HERE, FastPages
from talking.surveys.references import REFERENCE_PATTERN

from ..conftest import make_user, publish_survey
from .conftest import STAFF
from .staff_helpers import sign_in, sign_out
from .test_resident_pages import PRESTON, QUESTIONS, RANKED, publish_custom


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@dataclass(frozen=True)
class Step:
    """One request of the script."""

    method: str
    path: str  # "{open}", "{closed}", "{draft}" and "{questions}" stand for those surveys' ids
    data: dict[str, Any] | None = None
    csrf: str = "page"  # "page": the token from the resident's last form; "none"; "forged"
    fast: bool = True  # answered by the fast path; False: handed to Litestar
    status: int | None = None  # when given, the status both must answer


ORDER = {f"position-{code}": str(n) for n, code in enumerate(RANKED, start=1)}
SCRIPT = [
    Step("GET", "/", status=200),
    Step("GET", "/surveys/{open}", status=200),
    Step("GET", "/surveys/{open}/issues", status=303),  # out of order: to the first unanswered page
    Step("GET", "/surveys/{open}/done", status=303),  # nothing sent yet: back to the start
    Step("GET", "/surveys/{open}/district", status=200),
    Step("POST", "/surveys/{open}/district", {}, status=422),
    Step("POST", "/surveys/{open}/district", {"district": "E99999999"}, status=422),
    Step("POST", "/surveys/{open}/district", {"district": PRESTON}, csrf="none", status=403),
    Step("POST", "/surveys/{open}/district", {"district": PRESTON}, csrf="forged", status=403),
    Step("POST", "/surveys/{open}/district", {"district": PRESTON}, status=303),
    Step("GET", "/surveys/{open}/issues", status=200),
    Step("POST", "/surveys/{open}/issues", {"picks": []}, status=422),
    Step("POST", "/surveys/{open}/issues", {"picks": ["fraud", "alcohol", "burglary", "x", "y", "z"]}, status=422),
    Step("POST", "/surveys/{open}/issues", {"picks": sorted(RANKED)}, status=303),
    Step("GET", "/surveys/{open}/order", status=200),
    Step("POST", "/surveys/{open}/order", {code: "1" for code in ORDER}, status=422),
    Step("POST", "/surveys/{open}/order", ORDER, status=303),
    Step("GET", "/surveys/{open}/comment", status=200),
    Step("POST", "/surveys/{open}/comment", {"comment": "z" * 2_001}, status=422),
    Step("POST", "/surveys/{open}/comment", {"comment": "Bad\x00byte"}, status=422),
    Step("POST", "/surveys/{open}/comment", {"comment": "Lights <b>please</b> & soon"}, status=303),
    Step("GET", "/surveys/{open}/about-you", status=200),
    Step("POST", "/surveys/{open}/about-you", {"age_band": "200-300"}, status=422),
    Step("POST", "/surveys/{open}/about-you", {"age_band": "35-44", "sex": "prefer-not-to-say"}, status=303),
    Step("GET", "/surveys/{open}/check", status=200),
    Step("GET", "/surveys/{open}/district?change=1", status=200),
    Step("POST", "/surveys/{open}/district?change=1", {"district": "E06000009"}, status=303),
    Step("GET", "/surveys/{open}/check", status=200),
    Step("POST", "/surveys/{open}/check", {}, csrf="none", status=403),
    Step("POST", "/surveys/{open}/check", {}, status=303),
    Step("GET", "/surveys/{open}/done", status=200),
    Step("POST", "/surveys/{open}/check", {}, status=303),  # pressed twice: to the same confirmation
    Step("GET", "/surveys/{open}/start-again/", status=404, fast=False),  # not a page of ours
    Step("GET", "/surveys/999999", status=404),
    Step("GET", "/surveys/{draft}", status=404),
    Step("GET", "/surveys/{closed}", status=200),
    Step("GET", "/surveys/{closed}/district", status=200),
    Step("POST", "/surveys/{closed}/district", {"district": PRESTON}, status=409),
    Step("GET", "/surveys/{questions}/questions/no-such-question", status=404),
    Step("GET", "/surveys/0", fast=False),  # Litestar explains an id out of range
    Step("GET", "/surveys/99999999999", fast=False),
    Step("HEAD", "/surveys/{open}", fast=False),
    Step("PUT", "/surveys/{open}/district", {}, fast=False, status=405),
    Step("POST", "/surveys/{questions}/district", {"district": PRESTON}, status=303),
    Step("POST", "/surveys/{questions}/issues", {"picks": ["fraud"]}, status=303),  # one pick: no order page
    Step("GET", "/surveys/{questions}/questions/safe-at-night", status=200),
    Step("POST", "/surveys/{questions}/questions/safe-at-night", {"answer": "very-very-safe"}, status=422),
    Step("POST", "/surveys/{questions}/questions/safe-at-night", {"answer": "fairly-safe"}, status=303),
    Step("POST", "/surveys/{questions}/questions/where", {"answer": ["parks", "near-schools"]}, status=303),
]

RANDOM = [
    (re.compile(rb"(talking_session=)[0-9a-f]+"), rb"\1<session>"),
    (re.compile(rb"(talking_csrf=)[0-9a-f]+"), rb"\1<csrf>"),
    (re.compile(rb'(name="_csrf_token" value=")[0-9a-f]+'), rb"\1<csrf>"),
    (re.compile(rb"nonce(=\"|-)[A-Za-z0-9_-]+"), rb"nonce\1<nonce>"),
    (re.compile(REFERENCE_PATTERN.encode()), rb"<reference>"),
]


def masked(value: bytes) -> bytes:
    """``value`` with what is random in every answer replaced by placeholders."""
    for pattern, placeholder in RANDOM:
        value = pattern.sub(placeholder, value)
    return value


class Recorder:
    """An ASGI wrapper that notes, for each request, whether the fast path answered it."""

    def __init__(self, asgi: Any) -> None:
        self.asgi = asgi
        self.fast: list[bool] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.asgi(scope, receive, send)
        if scope["type"] == "http":
            self.fast.append(bool(scope.get(ANSWERED_HERE)))


@dataclass
class Resident:
    """One client with its own cookies, through one of the two ways in."""

    asgi: Recorder
    http: httpx.AsyncClient = field(init=False)
    token: str = "0" * 128

    def __post_init__(self) -> None:
        transport = httpx.ASGITransport(app=self.asgi)  # type: ignore[arg-type]
        self.http = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")

    async def play(self, step: Step, ids: dict[str, int]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send the step; its status, headers and body, masked."""
        data = None if step.data is None else dict(step.data)
        if data is not None and step.csrf != "none":
            data["_csrf_token"] = self.token if step.csrf == "page" else "f" * 128
        response = await self.http.request(step.method, step.path.format(**ids), data=data)
        if found := re.search(r'name="_csrf_token" value="([^"]+)"', response.text):
            self.token = found.group(1)
        headers = [(name.lower(), masked(value)) for name, value in response.headers.raw]
        return response.status_code, headers, masked(response.content)


async def make_surveys(engine: AsyncEngine) -> dict[str, int]:
    """An open survey, a closed one, a draft and one with extra questions."""
    now = datetime.now(UTC)
    ids = {
        "open": await publish_survey(engine),
        "closed": await publish_survey(engine),
        "draft": await publish_survey(engine),
        "questions": await publish_custom(engine, questions=QUESTIONS, ask_about_you=False),
    }
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == ids["draft"]).values(status="draft"))
        closed = update(surveys).where(surveys.c.id == ids["closed"])
        await conn.execute(closed.values(closes_at=now - timedelta(hours=1)))
    return ids


async def test_fast_pages_answer_as_litestar_does(app: Litestar, settings: Settings, engine: AsyncEngine) -> None:
    ids = await make_surveys(engine)
    plain = create_app(settings)
    plain.template_engine.engine.page_cache = None  # type: ignore[union-attr]
    through_litestar, through_fast = Recorder(plain), Recorder(FastPages(app))
    async with app.lifespan(), plain.lifespan():
        # Twice, by new residents: the second time round, remembered pages come from the page cache.
        for round_ in (1, 2):
            litestar_resident, fast_resident = Resident(through_litestar), Resident(through_fast)
            for number, step in enumerate(SCRIPT):
                ours = await fast_resident.play(step, ids)
                theirs = await litestar_resident.play(step, ids)
                where = f"round {round_}, step {number}: {step.method} {step.path}"
                assert through_fast.fast[-1] is step.fast, f"{where}: answered by the wrong path"
                if step.status is not None:
                    assert ours[0] == step.status, (where, ours[0], ours[2][:3000])
                assert ours[0] == theirs[0], (where, ours[0], theirs[0])
                assert ours[1] == theirs[1], where
                assert ours[2] == theirs[2], where
    assert app.template_engine.engine.page_cache.hits >= 5  # type: ignore[union-attr]


async def test_signed_in_staff_are_handed_to_litestar(app: Litestar, engine: AsyncEngine) -> None:
    """A member of staff sees the staff menu on resident pages, which only Litestar's stack knows about."""
    survey_id = await publish_survey(engine)
    await make_user(engine, STAFF, "staff")
    recorder = Recorder(FastPages(app))
    async with app.lifespan():
        staff = Resident(recorder)
        assert (await sign_in(staff.http, STAFF)).status_code == 303  # type: ignore[arg-type]
        page = await staff.http.get(f"/surveys/{survey_id}")
        assert page.status_code == 200 and "Sign out" in page.text
        assert recorder.fast[-1] is False
        # Signed out, the same browser is a resident again, served by the fast path.
        assert (await sign_out(staff.http)).status_code == 303  # type: ignore[arg-type]
        page = await staff.http.get(f"/surveys/{survey_id}")
        assert page.status_code == 200 and "Sign out" not in page.text
        assert recorder.fast[-1] is True


async def test_a_session_store_out_of_reach_gets_the_same_error_page(
    app: Litestar, settings: Settings, engine: AsyncEngine, sqlite_url: str
) -> None:
    """A layer around the handler failing (here the sessions file cannot be opened) is the same page on both
    paths: 503, try again in a moment (an outage, not a bug)."""
    if settings.database_url != sqlite_url:
        pytest.skip("PostgreSQL keeps sessions in its database")
    survey_id = await publish_survey(engine)
    sessions_path(make_url(sqlite_url).database or "").mkdir()  # a directory where the file should be
    through_litestar, through_fast = Recorder(app), Recorder(FastPages(app))
    async with app.lifespan():
        answers = []
        for recorder in (through_fast, through_litestar):
            resident = Resident(recorder)
            resident.http.cookies.set("talking_session", "ab" * 16)
            answers.append(await resident.play(Step("GET", f"/surveys/{survey_id}/district"), {}))
        assert through_fast.fast[-1] is False  # the failure came before the page was claimed
    ours, theirs = answers
    assert ours[0] == theirs[0] == 503
    assert ours[1:] == theirs[1:]
    assert (b"retry-after", b"5") in ours[1]
    assert b"Sorry, the service is unavailable for a moment" in ours[2]


async def test_remembered_pages_show_each_resident_their_own_reference(app: Litestar, engine: AsyncEngine) -> None:
    """The confirmation page is remembered once; each resident still sees the reference they were given."""
    survey_id = await publish_survey(engine)
    recorder = Recorder(FastPages(app))
    page_cache = app.template_engine.engine.page_cache  # type: ignore[union-attr]
    sent = next(i for i, step in enumerate(SCRIPT) if step.path == "/surveys/{open}/check" and step.status == 303)
    shown, remembered = [], []
    async with app.lifespan():
        for _ in range(3):
            resident = Resident(recorder)
            for step in SCRIPT[: sent + 1]:  # the open survey's journey, up to sending the answers
                if "{open}" in step.path:
                    await resident.play(step, {"open": survey_id})
            hits = page_cache.hits
            done = await resident.http.get(f"/surveys/{survey_id}/done")
            remembered.append(page_cache.hits - hits)
            shown.append(re.search(f"<strong>({REFERENCE_PATTERN})</strong>", done.text).group(1))  # type: ignore[union-attr]
    async with engine.connect() as conn:
        stored = set((await conn.execute(select(responses.c.reference))).scalars())
    assert len(set(shown)) == 3 and set(shown) == stored
    assert remembered == [0, 1, 1]  # rendered for the first resident, then served from memory
