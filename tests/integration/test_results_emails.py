"""Members who asked to hear about results: the preference (join, manage, staff page) and the emails that
publishing results and adding "we did" updates queue, through the real app, on SQLite and PostgreSQL.

The delivery test has the app's own sender deliver to a real SMTP server (aiosmtpd on 127.0.0.1) and
follows the email's links through the app.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import mail_outbox, members
from talking.members.manage import manage_token
from talking.results.member_emails import RESULTS_KIND, UPDATE_KIND
from talking.settings import Settings

from ..conftest import make_token, make_user
from .invitation_helpers import SECRET, outbox, panel, set_member
from .join_helpers import text_part, wait_for_mail, walk_to_check
from .mail_helpers import Inbox, smtp_server
from .staff_helpers import Client, csrf_from, error_summary, sign_in, submit, text_of
from .test_report_pages import ANSWERS, BURNLEY, PRESTON, store_answers

CHORLEY = "E07000118"
BASE = "http://127.0.0.1:8000"  # the settings' default TALKING_BASE_URL


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    received = Inbox()
    with smtp_server(received) as port:
        yield received, port


@pytest.fixture
def settings(database_url: str, tmp_path: Path, inbox: tuple[Inbox, int]) -> Settings:
    """The app's sender delivers to this test's SMTP server."""
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        mail_dir=tmp_path / "mail",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
    )


@pytest.fixture
async def survey(engine: AsyncEngine) -> int:
    """A survey of five districts (not Chorley), with answers enough to publish."""
    from talking.testing.surveys import publish_survey

    survey_id = await publish_survey(engine, districts=tuple(ANSWERS))
    await store_answers(engine, survey_id, ANSWERS)
    return survey_id


@pytest.fixture
async def staff_headers(engine: AsyncEngine) -> dict[str, str]:
    token = await make_token(engine, await make_user(engine, "staff@lancashire.test", "staff"))
    return {"Authorization": f"Bearer {token}"}


async def asking_panel(engine: AsyncEngine) -> dict[str, int]:
    """Members who asked (and some who did not, or cannot be sent anything); returns email -> id."""
    ids = await panel(engine, {"Preston": 5, "Burnley": 1, "Chorley": 1})
    for email in ("preston0", "preston1", "preston3", "preston4", "burnley0", "chorley0"):
        await set_member(engine, ids[f"{email}@example.org"], hear_about_results=True)
    await set_member(engine, ids["preston1@example.org"], bouncing_at=datetime.now(UTC))
    await set_member(engine, ids["preston3@example.org"], status="unsubscribed")
    await set_member(engine, ids["preston4@example.org"], status="erased", email=None, email_key=None)
    return ids


async def recipients(engine: AsyncEngine, kind: str) -> list[str]:
    return [str(row["recipient"]) for row in await outbox(engine, kind)]


ASKED = ["preston0@example.org", "burnley0@example.org"]  # active, not bouncing, asked, in the survey's districts


async def test_publishing_emails_only_those_who_asked_once_per_stage(
    client: Client, engine: AsyncEngine, survey: int, staff_headers: dict[str, str]
) -> None:
    await asking_panel(engine)
    results = f"/api/v1/surveys/{survey}/results"
    assert (await client.post(results, headers=staff_headers)).status_code == 201
    assert sorted(await recipients(engine, RESULTS_KIND)) == sorted(ASKED)
    first = await outbox(engine, RESULTS_KIND)
    assert all(str(row["subject"]).startswith("Early (interim) results are published") for row in first)

    # Interim results published again, withdrawn, published again: no more emails.
    assert (await client.post(results, headers=staff_headers)).status_code == 201
    assert (await client.delete(results, headers=staff_headers)).status_code == 204
    assert (await client.post(results, headers=staff_headers)).status_code == 201
    assert len(await recipients(engine, RESULTS_KIND)) == len(ASKED)

    # The final results: one email each, once.
    assert (await client.post(f"/api/v1/surveys/{survey}/close", headers=staff_headers)).status_code == 200
    assert (await client.post(results, headers=staff_headers)).status_code == 201
    finals = [row for row in await outbox(engine, RESULTS_KIND) if str(row["subject"]).startswith("The final")]
    assert sorted(str(row["recipient"]) for row in finals) == sorted(ASKED)
    assert (await client.delete(results, headers=staff_headers)).status_code == 204
    assert (await client.post(results, headers=staff_headers)).status_code == 201
    assert len(await recipients(engine, RESULTS_KIND)) == 2 * len(ASKED)


async def test_refused_publications_and_withdrawals_send_nothing(
    client: Client, engine: AsyncEngine, survey: int, staff_headers: dict[str, str]
) -> None:
    await asking_panel(engine)
    from talking.testing.surveys import publish_survey

    empty = await publish_survey(engine)
    assert (await client.post(f"/api/v1/surveys/{empty}/results", headers=staff_headers)).status_code == 409
    assert (await client.delete(f"/api/v1/surveys/{survey}/results", headers=staff_headers)).status_code == 404
    assert await outbox(engine, RESULTS_KIND) == []
    # Two publications at once: one email each all the same.
    done = await asyncio.gather(
        *(client.post(f"/api/v1/surveys/{survey}/results", headers=staff_headers) for _ in range(3))
    )
    assert {answer.status_code for answer in done} <= {201, 409}
    assert sorted(await recipients(engine, RESULTS_KIND)) == sorted(ASKED)


async def test_a_district_update_emails_that_district_and_a_county_update_every_district(
    client: Client, engine: AsyncEngine, survey: int
) -> None:
    await asking_panel(engine)
    await make_user(engine, "pages@lancashire.test", "staff")
    assert (await sign_in(client, "pages@lancashire.test")).status_code == 303
    base = f"/staff/surveys/{survey}/results"
    csrf = csrf_from((await client.get(base)).text)
    assert (await client.post(base + "/publish", data={"_csrf_token": csrf}, follow_redirects=False)).status_code == 303
    update = {"_csrf_token": csrf, "area": PRESTON, "issue": "anti-social-behaviour",
              "action": "Extra patrols in the park", "partner": "Lancashire Constabulary",
              "done-day": "1", "done-month": "11", "done-year": "2026"}  # fmt: skip
    bad = await client.post(base + "/updates", data={**update, "area": "nowhere"})
    assert bad.status_code == 422 and await outbox(engine, UPDATE_KIND) == []

    assert (await client.post(base + "/updates", data=update, follow_redirects=False)).status_code == 303
    (preston,) = await outbox(engine, UPDATE_KIND)
    assert preston["recipient"] == "preston0@example.org"
    text = str(preston["body_text"])
    assert "Extra patrols in the park" in text and "Lancashire Constabulary" in text and "1 November 2026" in text
    assert f"{BASE}/results/{survey}/{PRESTON}" in text and "/members/you?token=" in text

    county = {**update, "area": "county", "issue": "burglary", "action": "Free door locks"}
    assert (await client.post(base + "/updates", data=county, follow_redirects=False)).status_code == 303
    county_mail = [row for row in await outbox(engine, UPDATE_KIND) if "Free door locks" in str(row["body_text"])]
    assert sorted(str(row["recipient"]) for row in county_mail) == sorted(ASKED)
    burnley = next(row for row in county_mail if row["recipient"] == "burnley0@example.org")
    assert f"/results/{survey}/{BURNLEY}" in str(burnley["body_text"])


async def test_the_email_arrives_and_its_links_work(
    client: Client, engine: AsyncEngine, survey: int, staff_headers: dict[str, str], inbox: tuple[Inbox, int]
) -> None:
    ids = await panel(engine, {"Preston": 1})
    await set_member(engine, ids["preston0@example.org"], hear_about_results=True)
    assert (await client.post(f"/api/v1/surveys/{survey}/results", headers=staff_headers)).status_code == 201
    (message,) = await wait_for_mail(inbox[0], 1)
    assert message["To"] == "preston0@example.org"
    assert message["Subject"] == "Early (interim) results are published: Lancashire Talking test survey"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_part(message)
    links = [link.removeprefix(BASE) for link in re.findall(r"https?://\S+", text)]
    assert f"/results/{survey}" in links and f"/results/{survey}/{PRESTON}" in links
    for link in links:
        opened = await client.get(link)
        assert opened.status_code == 200, (link, opened.status_code)
    manage = next(link for link in links if link.startswith("/members/you"))
    assert "Email me when results are published" in text_of((await client.get(manage)).text)
    unsubscribe = str(message["List-Unsubscribe"]).strip().strip("<>").removeprefix(BASE)
    assert (await client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})).status_code == 200
    # Unsubscribed: the final results reach nobody.
    assert (await client.post(f"/api/v1/surveys/{survey}/close", headers=staff_headers)).status_code == 200
    assert (await client.post(f"/api/v1/surveys/{survey}/results", headers=staff_headers)).status_code == 201
    assert len(await outbox(engine, RESULTS_KIND)) == 1


async def test_asked_for_on_the_join_journey(client: Client, engine: AsyncEngine) -> None:
    await walk_to_check(client, "joiner@example.org", district=PRESTON)
    bad = await submit(client, "/join/consent", "/join/consent", {"consent": "2026-12-06", "hear_about_results": "x"})
    assert bad.status_code == 422
    assert error_summary(bad.text) == [
        ("#hear_about_results", "Select whether you want an email when results are published, or leave it blank")
    ]
    ticked = {"consent": "2026-12-06", "hear_about_results": "yes"}
    assert (await submit(client, "/join/consent", "/join/consent", ticked)).status_code == 303
    check = await client.get("/join/check")
    assert "Email me when results are published" in text_of(check.text)
    shown = await client.post("/join/check", data={"_csrf_token": csrf_from(check.text)}, follow_redirects=False)
    assert shown.status_code == 303
    async with engine.connect() as conn:
        row = (await conn.execute(select(members).where(members.c.email_key == "joiner@example.org"))).one()
        body = (await conn.execute(select(mail_outbox.c.body_text))).scalar_one()
    assert row.hear_about_results is True and row.status == "pending"
    confirm = re.search(r"/join/confirm/\S+", body).group(0)  # type: ignore[union-attr]
    confirmed = await submit(client, confirm, confirm, {})
    assert confirmed.status_code == 200
    async with engine.connect() as conn:
        after = (await conn.execute(select(members).where(members.c.id == row.id))).one()
    assert after.status == "active" and after.hear_about_results is True


async def test_left_unticked_on_the_join_journey_and_imported_members_have_none(
    client: Client, engine: AsyncEngine
) -> None:
    await walk_to_check(client, "quiet@example.org", district=PRESTON)
    assert "No results emails" in text_of((await client.get("/join/check")).text)
    ids = await panel(engine, {"Chorley": 1})
    async with engine.connect() as conn:
        wanted = (await conn.execute(select(members.c.hear_about_results))).scalars().all()
    assert len(ids) == 1 and wanted == [False]


async def test_changed_on_the_manage_page_and_shown_to_staff(client: Client, engine: AsyncEngine) -> None:
    ids = await panel(engine, {"Preston": 1})
    member = ids["preston0@example.org"]
    page = f"/members/you/results-emails?token={manage_token(SECRET, member)}"

    async def stored() -> bool:
        async with engine.connect() as conn:
            return (await conn.execute(select(members.c.hear_about_results).where(members.c.id == member))).scalar_one()

    for odd in ("no", "yes" * 1000, "\x00"):
        refused = await submit(client, page, page, {"hear_about_results": odd})
        assert refused.status_code == 422 and error_summary(refused.text)[0][0] == "#hear_about_results"
    assert await stored() is False
    saved = await submit(client, page, page, {"hear_about_results": "yes"})
    assert saved.status_code == 303 and await stored() is True
    shown = text_of((await client.get(saved.headers["location"])).text)
    assert "We will email you when results are published." in shown
    # Two saves at once: either wins, neither fails.
    csrf = csrf_from((await client.get(page)).text)
    both = await asyncio.gather(
        client.post(page, data={"_csrf_token": csrf}, follow_redirects=False),
        client.post(page, data={"_csrf_token": csrf, "hear_about_results": "yes"}, follow_redirects=False),
    )
    assert [answer.status_code for answer in both] == [303, 303]
    assert (await submit(client, page, page, {})).status_code == 303 and await stored() is False

    await set_member(engine, member, hear_about_results=True)
    await make_user(engine, "desk@lancashire.test", "staff")
    assert (await sign_in(client, "desk@lancashire.test")).status_code == 303
    staff_page = text_of((await client.get(f"/staff/members/{member}")).text)
    assert "Results emails Asked to be emailed when results are published" in staff_page

    # Erased (the member's own delete): nothing of the preference is left, and no email can follow.
    delete = f"/members/you/delete?token={manage_token(SECRET, member)}"
    assert (await submit(client, delete, delete, {})).status_code == 303
    assert await stored() is False
