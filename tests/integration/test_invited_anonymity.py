"""An invited answer cannot be linked to its member or invitation: what is stored, exported and logged.

On SQLite and PostgreSQL: every column of the answer's rows (responses, response_picks,
response_answers), the invitation's row before and after, and the analysts' downloads (the
responses CSV, the report as JSON through the API, and the staff report's CSV, JSON and XLSX).
"""

from __future__ import annotations

import io
import logging
import zipfile
from datetime import UTC, date, datetime, time

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Date, DateTime, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import invitations, members, response_answers, response_picks, responses
from talking.invitation_tokens import token_hash
from talking.metrics import RequestMetrics
from talking.questionnaires.schemas import QuestionCreate
from talking.testing.invitations import invite, publish_members_survey

from ..conftest import make_member, make_token, make_user
from .staff_helpers import sign_in
from .test_invited_journey import answer_to_check, submit

Client = AsyncTestClient[Litestar]
SECRET = "test-secret-key"  # the app fixture's
EMAILS = ("first.member@example.org", "second.member@example.org")

# Everything a response row holds; a new column must be added here after asking whether it could link.
RESPONSE_COLUMNS = {
    "id",
    "survey_id",
    "reference",
    "district_code",
    "comment",
    "age_band",
    "sex",
    "channel",
    "submitted_at",
    "idempotency_key",
    "request_digest",
    "ranked_picks",
    "repeat_in_browser",
}


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def answered(client: Client, engine: AsyncEngine) -> tuple[int, list[str]]:
    """A members survey with an extra question, answered by two invited members: one through the pages,
    one through the API. Returns the survey and the tokens."""
    question = QuestionCreate(key="safe", kind="free_text", prompt="Where do you feel safe?")
    survey_id = await publish_members_survey(engine, questions=(question,))
    tokens = [await invite(engine, SECRET, survey_id, await make_member(engine, email)) for email in EMAILS]
    check = await answer_to_check(client, survey_id, tokens[0])
    assert (await submit(client, survey_id, check)).status_code == 303
    sent = await client.post(
        f"/api/v1/surveys/{survey_id}/responses",
        json={"picks": ["fraud"], "invitation": tokens[1], "answers": {"safe": "At home"}, "comment": "Thanks"},
    )
    assert sent.status_code == 201, sent.text
    return survey_id, tokens


def secrets_of(tokens: list[str]) -> list[str]:
    """Everything that would identify a member or an invitation, as text."""
    found = [*EMAILS, *(email.split("@")[0] for email in EMAILS), *tokens]
    found += [token_hash(token).hex() for token in tokens]
    return found


async def test_the_answers_rows_hold_nothing_of_the_member_or_invitation(
    engine: AsyncEngine, answered: tuple[int, list[str]]
) -> None:
    survey_id, tokens = answered
    assert {column.name for column in responses.columns} == RESPONSE_COLUMNS
    for table in (responses, response_picks, response_answers):
        assert not [
            c.name for c in table.columns if any(w in c.name for w in ("member", "invitation", "token", "email"))
        ]
    hashes = {token_hash(token) for token in tokens}
    async with engine.connect() as conn:
        member_ids = set((await conn.execute(select(members.c.id))).scalars())
        invitation_ids = set((await conn.execute(select(invitations.c.id))).scalars())
        rows = [
            *(await conn.execute(select(responses).where(responses.c.survey_id == survey_id))).mappings(),
            *(await conn.execute(select(response_picks))).mappings(),
            *(await conn.execute(select(response_answers))).mappings(),
        ]
    assert len(rows) > 2
    secrets = secrets_of(tokens)
    for row in rows:
        for name, value in row.items():
            assert value not in hashes, name
            assert not any(secret in str(value) for secret in secrets), name
    answers = [row for row in rows if "reference" in row]
    assert len(answers) == 2
    for answer in answers:
        # Only the day, as the invitation's used_on: no time to match the two by.
        assert answer["submitted_at"].time() == time(0, 0), answer["submitted_at"]
        assert answer["submitted_at"].date() == datetime.now(UTC).date()
    # Ids are not keys to each other either: no response id is carried by a member or an invitation row.
    assert member_ids and invitation_ids  # (the check above compared every value with the secrets)


async def test_the_invitation_keeps_only_the_day_it_was_used(
    engine: AsyncEngine, answered: tuple[int, list[str]]
) -> None:
    survey_id, _tokens = answered
    used_columns = {c.name: c.type for c in invitations.columns}
    assert isinstance(used_columns["used_on"], Date) and not isinstance(used_columns["used_on"], DateTime)
    assert not [name for name in used_columns if "response" in name or name in ("used_at", "answered_at")]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(invitations).where(invitations.c.survey_id == survey_id))).mappings().all()
    for row in rows:
        assert type(row["used_on"]) is date and row["used_on"] == datetime.now(UTC).date()
        assert row["reminders_sent"] == 0 and row["last_reminded_at"] is None  # answering changed nothing else


async def test_analysts_downloads_carry_no_email_or_token(
    client: Client, engine: AsyncEngine, answered: tuple[int, list[str]]
) -> None:
    survey_id, tokens = answered
    api_token = await make_token(engine, await make_user(engine, "analyst@example.org", "analyst"))
    bearer = {"Authorization": f"Bearer {api_token}"}
    downloads = {
        "responses.csv": await client.get(f"/api/v1/surveys/{survey_id}/responses.csv", headers=bearer),
        "report (API)": await client.get(f"/api/v1/surveys/{survey_id}/report", headers=bearer),
    }
    client.cookies.clear()
    await make_user(engine, "staff@example.org", "staff")
    assert (await sign_in(client, "staff@example.org")).status_code == 303
    for kind in ("csv", "json", "xlsx"):
        downloads[f"report.{kind}"] = await client.get(f"/staff/surveys/{survey_id}/report.{kind}")
    secrets = secrets_of(tokens)
    for name, download in downloads.items():
        assert download.status_code == 200, (name, download.text[:500])
        texts = [download.text]
        if name.endswith("xlsx"):
            with zipfile.ZipFile(io.BytesIO(download.content)) as book:
                texts = [book.read(part).decode("utf-8", "replace") for part in book.namelist()]
        for text in texts:
            assert not any(secret in text for secret in secrets), name
    assert "T00:00:00" in downloads["responses.csv"].text  # submitted_at: the day only


async def test_the_access_log_leaves_the_token_out(
    app: Litestar, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    survey_id = await publish_members_survey(engine)
    token = await invite(engine, SECRET, survey_id, await make_member(engine))
    served = RequestMetrics(app, app, token=None, access_log=True)  # as `talking serve` logs in JSON
    with caplog.at_level(logging.INFO, logger="talking.access"):
        async with AsyncTestClient(app=served) as client:  # type: ignore[arg-type]
            assert (await client.get(f"/i/{token}")).status_code == 200
            await client.get(f"/i/{token}/details", follow_redirects=False)
    logged = [record for record in caplog.records if record.name == "talking.access"]
    assert [record.path for record in logged] == ["/i/{token}", "/i/{token}/details"]  # type: ignore[attr-defined]
    ours = [record.getMessage() for record in caplog.records if record.name.startswith("talking")]
    assert ours and not [message for message in ours if token in message]
