"""Answers to members surveys through the JSON API with ``"invitation"``: on SQLite and on PostgreSQL.

Every refusal stores nothing and leaves the invitation unused; one answer per invitation holds
under concurrency (20 at once) and inside one of the writer's batches; the fast path (what
`talking serve` runs) gives the same bytes as the Litestar handler.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db.models import invitations, members, responses, surveys
from talking.errors import InvitationUsed
from talking.invitation_tokens import token_hash
from talking.settings import Settings
from talking.surveys.batches import PendingResponse, store_batch, transaction_on
from talking.surveys.fast_submit import FastSubmit
from talking.testing.invitations import invite, publish_members_survey

from ..conftest import count_stored, make_member, publish_survey
from .test_fast_submit import Case, call_asgi, comparable

Client = AsyncTestClient[Litestar]
PRESTON, BURNLEY = "E07000123", "E07000117"
SECRET = "test-secret-key"  # the app fixture's
PROBLEM = "application/problem+json"
ANSWER = {"picks": ["burglary", "fraud"]}


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def members_survey(engine: AsyncEngine) -> int:
    """A published members survey, open now."""
    return await publish_members_survey(engine)


@pytest.fixture
async def token(engine: AsyncEngine, members_survey: int) -> str:
    """A Preston member's invitation to the members survey."""
    return await invite(engine, SECRET, members_survey, await make_member(engine))


async def used_on(engine: AsyncEngine, token: str) -> object:
    """The day the invitation was used (None: not yet)."""
    async with engine.connect() as conn:
        query = select(invitations.c.used_on).where(invitations.c.token_hash == token_hash(token))
        return (await conn.execute(query)).scalar_one()


async def send(client: Client, survey_id: int, body: dict[str, object], key: str | None = None):
    """POST an answer to the API."""
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post(f"/api/v1/surveys/{survey_id}/responses", json=body, headers=headers)


def refused(response, status: int, slug: str, field: str | None = None) -> None:
    """The answer is problem details of this status and type (naming ``field``, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith(f"/{slug}"), problem
    if field:
        assert field in [error["field"] for error in problem["errors"]], problem


async def test_an_invited_answer_takes_its_district_from_the_membership(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    sent = await send(client, members_survey, {**ANSWER, "invitation": token})
    assert sent.status_code == 201, sent.text
    async with engine.connect() as conn:
        row = (await conn.execute(select(responses).where(responses.c.id == sent.json()["id"]))).one()
    assert row.district_code == PRESTON
    assert row.channel == "api"
    assert await used_on(engine, token) == datetime.now(UTC).date()


async def test_the_same_district_as_the_membership_is_taken_and_known_about_you_fills_in(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(members).values(age_band="35-44", sex="female"))
    sent = await send(client, members_survey, {**ANSWER, "district": PRESTON, "sex": "male", "invitation": token})
    assert sent.status_code == 201, sent.text
    async with engine.connect() as conn:
        row = (await conn.execute(select(responses))).one()
    # The member's age band fills the gap; what the answer says itself stands.
    assert (row.district_code, row.age_band, row.sex) == (PRESTON, "35-44", "male")


async def test_a_second_answer_is_409_already_answered_and_stores_nothing(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    assert (await send(client, members_survey, {**ANSWER, "invitation": token})).status_code == 201
    before = await count_stored(engine)
    again = await send(client, members_survey, {"picks": ["alcohol"], "invitation": token})
    refused(again, 409, "already-answered")
    assert "already been answered" in again.json()["detail"]
    # With a new Idempotency-Key it is another answer, refused by the writer's claim.
    again = await send(client, members_survey, {"picks": ["alcohol"], "invitation": token}, "new-key")
    refused(again, 409, "already-answered")
    assert await count_stored(engine) == before


async def test_a_retry_with_its_idempotency_key_gets_the_first_answer_back(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    first = await send(client, members_survey, {**ANSWER, "invitation": token}, "partner-1")
    retry = await send(client, members_survey, {**ANSWER, "invitation": token}, "partner-1")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert await count_stored(engine) == (1, 2)


@pytest.mark.parametrize(
    ("name", "invitation"),
    [
        ("forged", "A" * 43),
        ("truncated", None),  # the good token less its last character
        ("one-character-changed", None),
        ("too-long", None),
        ("empty", ""),
        ("not-a-token", "../../etc/passwd"),
        ("non-ascii", "é" * 43),
        ("nul", "\x00" * 43),
        ("huge", "x" * 10_000),
    ],
)
async def test_bad_tokens_are_403_and_store_nothing(
    client: Client, engine: AsyncEngine, members_survey: int, token: str, name: str, invitation: str | None
) -> None:
    bad = invitation
    if name == "truncated":
        bad = token[:-1]
    elif name == "one-character-changed":
        bad = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif name == "too-long":
        bad = token + "A"
    sent = await send(client, members_survey, {**ANSWER, "invitation": bad})
    refused(sent, 403, "invitation-required")
    assert await count_stored(engine) == (0, 0)
    assert await used_on(engine, token) is None


async def test_another_surveys_invitation_is_403(client: Client, engine: AsyncEngine, token: str) -> None:
    other = await publish_members_survey(engine)
    refused(await send(client, other, {**ANSWER, "invitation": token}), 403, "invitation-required")
    assert await count_stored(engine) == (0, 0)
    assert await used_on(engine, token) is None


async def test_a_members_survey_without_an_invitation_is_403(
    client: Client, engine: AsyncEngine, members_survey: int
) -> None:
    for body in ({**ANSWER, "district": PRESTON}, ANSWER, {**ANSWER, "invitation": None}, {"picks": []}):
        sent = await send(client, members_survey, body)
        refused(sent, 403, "invitation-required")
        assert "invited panel members" in sent.json()["detail"]
    assert await count_stored(engine) == (0, 0)


async def test_an_erased_members_invitation_is_403(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    async with engine.begin() as conn:  # as erasure leaves a member: no email, no district
        await conn.execute(update(members).values(status="erased", email=None, email_key=None, district_code=None))
    refused(await send(client, members_survey, {**ANSWER, "invitation": token}), 403, "invitation-required")
    assert await count_stored(engine) == (0, 0)


async def test_an_unsubscribed_member_may_still_answer(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(members).values(status="unsubscribed"))
    assert (await send(client, members_survey, {**ANSWER, "invitation": token})).status_code == 201


async def test_a_district_other_than_the_membership_is_422(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    for district in (BURNLEY, "E99999999", ""):
        sent = await send(client, members_survey, {**ANSWER, "district": district, "invitation": token})
        refused(sent, 422, "invalid-request", "district")
    assert "Preston (E07000123)" in sent.json()["errors"][0]["message"]
    assert await count_stored(engine) == (0, 0)
    assert await used_on(engine, token) is None


async def test_bad_answers_with_a_good_invitation_are_422_and_leave_it_unused(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    refused(await send(client, members_survey, {"picks": ["speeding"], "invitation": token}), 422, "invalid-request")
    assert await used_on(engine, token) is None
    assert (await send(client, members_survey, {**ANSWER, "invitation": token})).status_code == 201


async def test_an_invitation_to_an_open_survey_is_422(client: Client, engine: AsyncEngine, token: str) -> None:
    open_survey = await publish_survey(engine)
    sent = await send(client, open_survey, {**ANSWER, "district": PRESTON, "invitation": token})
    refused(sent, 422, "invalid-request", "invitation")
    assert await count_stored(engine) == (0, 0)


async def test_an_open_survey_still_needs_a_district(client: Client, engine: AsyncEngine) -> None:
    open_survey = await publish_survey(engine)
    for body in (ANSWER, {**ANSWER, "district": None}):
        sent = await send(client, open_survey, body)
        refused(sent, 422, "invalid-request", "district")
        assert "/api/v1/districts" in sent.json()["errors"][0]["message"]
    assert await count_stored(engine) == (0, 0)


async def test_a_closed_members_survey_is_409_not_open(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == members_survey).values(status="closed"))
    refused(await send(client, members_survey, {**ANSWER, "invitation": token}), 409, "survey-not-open")
    assert await used_on(engine, token) is None


@pytest.mark.load
async def test_the_same_invitation_twenty_times_at_once_stores_one(
    client: Client, engine: AsyncEngine, members_survey: int, token: str
) -> None:
    answers = await asyncio.gather(*(send(client, members_survey, {**ANSWER, "invitation": token}) for _ in range(20)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * 19, statuses
    for answer in answers:
        if answer.status_code == 409:
            refused(answer, 409, "already-answered")
    assert await count_stored(engine) == (1, 2)


async def test_one_batch_with_one_invitation_twice_stores_it_once(
    engine: AsyncEngine, token: str, members_survey: int
) -> None:
    batch = [
        PendingResponse(
            survey_id=members_survey,
            district=PRESTON,
            picks=(pick,),
            comment=None,
            age_band=None,
            sex=None,
            channel="api",
            invitation=token_hash(token),
        )
        for pick in ("burglary", "fraud")
    ]
    async with engine.connect() as conn:  # one transaction for the batch, as the writer runs it
        first, second = await conn.run_sync(lambda sync: store_batch(functools.partial(transaction_on, sync), batch))
        stored = (await conn.execute(select(responses.c.ranked_picks))).scalars().all()
    assert not isinstance(first, BaseException)
    assert isinstance(second, InvitationUsed)
    assert stored == ["burglary"]


async def test_the_fast_path_answers_invitations_as_litestar_does(
    database_url: str, engine: AsyncEngine, members_survey: int
) -> None:
    open_survey = await publish_survey(engine)
    closed = await publish_members_survey(engine, closes_at=datetime.now(UTC) + timedelta(hours=1))
    member = await make_member(engine)
    other_member = await make_member(engine, "other@example.org")
    good = [await invite(engine, SECRET, members_survey, m) for m in (member, other_member)]
    closed_token = await invite(engine, SECRET, closed, member)
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == closed).values(status="closed"))
    app = create_app(Settings(database_url=database_url, secret_key=SECRET, rate_limits=False))
    fast = FastSubmit(app)

    def body(**fields: object) -> bytes:
        return msgspec.json.encode({**ANSWER, **fields})

    cases = [
        (members_survey, Case("no-invitation", 403, body(district=PRESTON))),
        (members_survey, Case("forged", 403, body(invitation="A" * 43))),
        (members_survey, Case("truncated", 403, body(invitation=good[0][:-1]))),
        (members_survey, Case("district-mismatch", 422, body(invitation=good[0], district=BURNLEY))),
        (open_survey, Case("open-survey", 422, body(invitation=good[0], district=PRESTON))),
        (open_survey, Case("open-no-district", 422, body())),
        (closed, Case("closed", 409, body(invitation=closed_token))),
    ]
    async with app.lifespan():
        for survey_id, case in cases:
            path = f"/api/v1/surveys/{survey_id}/responses"
            ours, theirs = await call_asgi(fast, path, case), await call_asgi(app, path, case)
            assert (ours.by_litestar, theirs.by_litestar) == (False, True), case.name
            assert ours.status == case.status, (case.name, ours.body)
            assert comparable(ours, case) == comparable(theirs, case), case.name
        path = f"/api/v1/surveys/{members_survey}/responses"
        # Accepted: each path its own member's invitation; then each refuses the other's, used.
        accepted = [Case(f"member-{n}", 201, body(invitation=good[n])) for n in (0, 1)]
        ours, theirs = await call_asgi(fast, path, accepted[0]), await call_asgi(app, path, accepted[1])
        assert comparable(ours, accepted[0]) == comparable(theirs, accepted[1])
        assert ours.status == 201
        used = [Case(f"used-{n}", 409, body(invitation=good[n])) for n in (0, 1)]
        ours, theirs = await call_asgi(fast, path, used[1]), await call_asgi(app, path, used[0])
        assert ours.status == 409
        assert comparable(ours, used[1]) == comparable(theirs, used[0])
    assert await count_stored(engine) == (2, 4)
