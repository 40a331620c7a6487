"""Staff invite the panel to a members survey through the API: who is invited, the tokens, the emails,
refusals with problem details and nothing stored, and two sends at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import immediate
from talking.db.models import audit_events
from talking.invitation_tokens import invitation_token
from talking.questionnaires.services import close
from talking.settings import Settings

from ..conftest import make_token, make_user
from .invitation_helpers import (
    CHORLEY,
    PRESTON,
    SECRET,
    WYRE,
    everything_stored,
    invitation_rows,
    members_survey,
    outbox,
    panel,
    set_member,
)
from .mail_helpers import Inbox, smtp_server

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd on 127.0.0.1) for the app's own sender to deliver to."""
    received = Inbox()
    with smtp_server(received) as port:
        yield received, port


@pytest.fixture
def settings(database_url: str, tmp_path: Path, inbox: tuple[Inbox, int]) -> Settings:
    """The tests' settings, with the app's mail sender delivering to the test's SMTP server."""
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        mail_dir=tmp_path / "mail",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
    )


@pytest.fixture
async def staff_headers(engine: AsyncEngine) -> dict[str, str]:
    token = await make_token(engine, await make_user(engine, "staff@lancashire.test", "staff"))
    return {"Authorization": f"Bearer {token}"}


async def invite(client: Client, survey_id: int, headers: dict[str, str], body: object = None):
    return await client.post(
        f"/api/v1/surveys/{survey_id}/invitations", headers=headers, **({"json": body} if body is not None else {})
    )


async def test_one_invitation_per_active_member_not_bouncing_and_again_only_new_members(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    ids = await panel(engine, {"Preston": 3, "Wyre": 2, "Burnley": 2})
    await set_member(engine, ids["preston1@example.org"], status="unsubscribed")
    await set_member(engine, ids["wyre0@example.org"], bouncing_at=datetime.now(UTC))
    # Burnley is not covered by this survey: its members are not invited.
    survey_id = await members_survey(engine, districts=(PRESTON, WYRE, CHORLEY))

    first = await invite(client, survey_id, staff_headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"invited": 3}
    stored = await invitation_rows(engine, survey_id)
    invited = {ids["preston0@example.org"], ids["preston2@example.org"], ids["wyre1@example.org"]}
    assert {row["member_id"] for row in stored} == invited
    assert {row["district_code"] for row in stored} == {PRESTON, WYRE}
    assert all(row["reminders_sent"] == 0 and row["used_on"] is None for row in stored)
    emails = await outbox(engine, "invitation")
    assert sorted(e["recipient"] for e in emails) == [
        "preston0@example.org",
        "preston2@example.org",
        "wyre1@example.org",
    ]
    assert all(e["unsubscribe_url"] for e in emails)

    # Again: nobody new, nothing sent.
    again = await invite(client, survey_id, staff_headers)
    assert again.status_code == 200 and again.json() == {"invited": 0}
    assert len(await outbox(engine, "invitation")) == 3

    # A member joins; the next round invites only them.
    new = await panel(engine, {"Chorley": 1})
    third = await invite(client, survey_id, staff_headers)
    assert third.json() == {"invited": 1}
    assert {row["member_id"] for row in await invitation_rows(engine, survey_id)} == invited | {
        new["chorley0@example.org"]
    }

    async with engine.connect() as conn:
        rounds = (
            await conn.execute(select(audit_events.c.detail).where(audit_events.c.action == "invitations_sent"))
        ).scalars()
        assert [re.search(r'"invited":(\d+)', d).group(1) for d in rounds] == ["3", "0", "1"]  # type: ignore[union-attr]


async def test_districts_narrow_the_round(client: Client, engine: AsyncEngine, staff_headers: dict[str, str]) -> None:
    await panel(engine, {"Preston": 2, "Wyre": 3})
    survey_id = await members_survey(engine)
    sent = await invite(client, survey_id, staff_headers, {"districts": [WYRE]})
    assert sent.status_code == 201 and sent.json() == {"invited": 3}
    assert {row["district_code"] for row in await invitation_rows(engine, survey_id)} == {WYRE}
    rest = await invite(client, survey_id, staff_headers, {})  # an empty object: every district
    assert rest.json() == {"invited": 2}


async def test_tokens_are_long_unique_and_only_their_hashes_are_stored(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    ids = await panel(engine, {"Preston": 20})
    survey_id = await members_survey(engine)
    assert (await invite(client, survey_id, staff_headers)).json() == {"invited": 20}
    tokens = {member_id: invitation_token(SECRET, survey_id, member_id) for member_id in ids.values()}
    assert len(set(tokens.values())) == 20
    assert all(len(token) >= 22 for token in tokens.values())  # 43 characters: 256 bits, past the 128 asked
    stored = {row["member_id"]: row["token_hash"] for row in await invitation_rows(engine, survey_id)}
    assert stored == {m: hashlib.sha256(t.encode()).digest() for m, t in tokens.items()}
    # The token is in the email (its link) and nowhere else.
    for email in await outbox(engine, "invitation"):
        token = tokens[email["member_id"]]  # type: ignore[index]
        assert f"/i/{token}" in email["body_text"]  # type: ignore[operator]
    dump = (await everything_stored(engine)).replace(
        "\n".join(str(e["body_text"]) for e in await outbox(engine, "invitation")), ""
    )
    for token in tokens.values():
        assert sum(token in str(e["body_text"]) for e in await outbox(engine, "invitation")) == 1
        assert dump.count(token) <= 1  # only inside its own email's text


async def test_the_email_arrives_with_its_link_closing_date_and_unsubscribe(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str], inbox: tuple[Inbox, int]
) -> None:
    ids = await panel(engine, {"Preston": 1})
    closes = datetime(2030, 3, 28, 17, 0, tzinfo=UTC)
    survey_id = await members_survey(engine, title="Preston community safety 2030", closes_at=closes)
    assert (await invite(client, survey_id, staff_headers)).json() == {"invited": 1}

    # The app's own sender delivers it to the real SMTP server.
    received = inbox[0]
    for _ in range(200):
        if received.messages:
            break
        await asyncio.sleep(0.05)
    assert len(received.messages) == 1
    message = received.messages[0]
    assert message["To"] == "preston0@example.org"
    assert message["Subject"] == "Have your say: Preston community safety 2030"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    token = invitation_token(SECRET, survey_id, ids["preston0@example.org"])
    assert f"http://127.0.0.1:8000/i/{token}" in text
    assert "closes at 5pm on 28 March 2030" in text
    assert "/members/unsubscribe/" in text
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="http://127.0.0.1:8000/i/{token}"' in html
    # The link names its invitation through the hash alone.
    (row,) = await invitation_rows(engine, survey_id)
    assert row["token_hash"] == hashlib.sha256(token.encode("ascii")).digest()
    # Following the unsubscribe link works through the real app (the /i/ page is the invited journey's).
    unsubscribe = str(message["List-Unsubscribe"]).strip().strip("<>").removeprefix("http://127.0.0.1:8000")
    done = await client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, (unsubscribe, done.text[:300])


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"districts": ["E99999999"]}, 422, "districts"),
        ({"districts": []}, 422, "districts"),
        ({"districts": [CHORLEY]}, 422, "districts"),  # not covered by the survey
        ({"districts": "E07000123"}, 422, "districts"),
        ({"everyone": True}, 422, "everyone"),
        ([1, 2], 422, None),
    ],
)
async def test_bad_bodies_are_refused_with_problem_details_and_nothing_stored(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str], body: object, status: int, field: str | None
) -> None:
    await panel(engine, {"Preston": 2})
    survey_id = await members_survey(engine, districts=(PRESTON, WYRE))
    refused = await invite(client, survey_id, staff_headers, body)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    if field:
        assert field in {e["field"] for e in refused.json()["errors"]}
    assert await invitation_rows(engine, survey_id) == [] and await outbox(engine) == []


async def test_malformed_json_and_the_wrong_media_type(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    await panel(engine, {"Preston": 2})
    survey_id = await members_survey(engine)
    url = f"/api/v1/surveys/{survey_id}/invitations"
    headers = {**staff_headers, "Content-Type": "application/json"}
    bad = await client.post(url, content=b'{"districts": [', headers=headers)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(PROBLEM)
    form = await client.post(
        url, content=b"districts=E07000123", headers={**staff_headers, "Content-Type": "text/plain"}
    )
    assert form.status_code in (400, 415) and form.headers["content-type"].startswith(PROBLEM)
    assert await invitation_rows(engine, survey_id) == []


async def test_surveys_that_take_no_invitations(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    await panel(engine, {"Preston": 2})
    now = datetime.now(UTC)
    open_to_all = await members_survey(engine, audience="open")
    async with immediate(engine).begin() as conn:
        from talking.questionnaires.schemas import SurveyCreate
        from talking.questionnaires.services import create_survey

        draft = await create_survey(
            conn, SurveyCreate(title="Draft", issues=("speeding", "burglary"), max_picks=2, audience="members")
        )
    scheduled = await members_survey(engine, opens_at=now + timedelta(days=2))
    closed = await members_survey(engine)
    async with immediate(engine).begin() as conn:
        await close(conn, closed, actor=None)  # type: ignore[arg-type]
    for survey_id, words in [
        (open_to_all, "anyone with the link"),
        (draft, "Publish this survey"),
        (scheduled, "not opened yet"),
        (closed, "closed"),
    ]:
        for action in ("invitations", "reminders"):
            refused = await client.post(f"/api/v1/surveys/{survey_id}/{action}", headers=staff_headers)
            assert refused.status_code == 409, (survey_id, refused.text)
            assert refused.headers["content-type"].startswith(PROBLEM)
            assert words in refused.json()["detail"]
    missing = await client.post("/api/v1/surveys/99999/invitations", headers=staff_headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    assert await outbox(engine) == []


async def test_only_staff_send(client: Client, engine: AsyncEngine) -> None:
    await panel(engine, {"Preston": 2})
    survey_id = await members_survey(engine)
    analyst = {
        "Authorization": f"Bearer {await make_token(engine, await make_user(engine, 'a@lancs.test', 'analyst'))}"
    }
    for action in ("invitations", "reminders"):
        assert (await client.post(f"/api/v1/surveys/{survey_id}/{action}", headers=analyst)).status_code == 403
        assert (await client.post(f"/api/v1/surveys/{survey_id}/{action}")).status_code == 401
    admin = {"Authorization": f"Bearer {await make_token(engine, await make_user(engine, 'b@lancs.test', 'admin'))}"}
    assert (await invite(client, survey_id, admin)).json() == {"invited": 2}


async def test_two_sends_at_once_invite_each_member_once(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    await panel(engine, {"Preston": 40, "Wyre": 30})
    survey_id = await members_survey(engine)
    answers = await asyncio.gather(*(invite(client, survey_id, staff_headers) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert sum(a.json()["invited"] for a in answers) == 70
    stored = await invitation_rows(engine, survey_id)
    assert len(stored) == len({row["member_id"] for row in stored}) == 70
    assert len(await outbox(engine, "invitation")) == 70
