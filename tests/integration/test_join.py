"""Joining the resident panel: the pages, the real email (aiosmtpd), the confirmation link, bad input, races."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import immediate
from talking.db.models import mail_outbox, members
from talking.members.join import PRIVACY_NOTICE_VERSION, JoinAnswers, join
from talking.settings import Settings

from ..conftest import live_server
from .join_helpers import (
    BASE_URL,
    SECRET,
    html_part,
    join_through_pages,
    link_to,
    member_rows,
    send_join,
    text_part,
    wait_for_mail,
    walk_to_check,
)
from .mail_helpers import Inbox, add_member, smtp_server
from .staff_helpers import Client, csrf_from, error_summary, h1s, submit, text_of

PRESTON, BLACKPOOL = "E07000123", "E06000009"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server the app's own sender delivers to."""
    box = Inbox()
    with smtp_server(box) as port:
        yield box, port


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest, inbox: tuple[Inbox, int]) -> Settings:
    """The app's settings, its email going to the test's SMTP server and its links to BASE_URL."""
    load = request.node.get_closest_marker("load") is not None
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        rate_limits=not load,
        mail_dir=tmp_path / "mail",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        base_url=BASE_URL,
    )


async def test_join_then_confirm_from_the_link_in_the_real_email(
    client: Client, engine: AsyncEngine, inbox: tuple[Inbox, int]
) -> None:
    page = await join_through_pages(client, "New.Resident@Example.org", postcode=" pr12he ", age_band="35-44")
    assert page.status_code == 200 and h1s(page.text) == ["Check your email"]
    assert "New.Resident@example.org" in text_of(page.text)
    [member] = await member_rows(engine)
    assert member["status"] == "pending" and member["district_code"] == PRESTON
    assert member["email"] == "New.Resident@example.org" and member["email_key"] == "new.resident@example.org"
    assert (member["age_band"], member["sex"]) == ("35-44", None)
    assert member["consent_version"] == PRIVACY_NOTICE_VERSION and member["consent_at"] and member["joined_at"]
    assert member["confirmed_at"] is None

    [message] = await wait_for_mail(inbox[0], 1)
    assert message["To"] == "New.Resident@example.org"
    assert message["Subject"] == "Confirm you want to join the Lancashire Talking resident panel"
    assert message["List-Unsubscribe"].strip().startswith(f"<{BASE_URL}/members/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    confirm = link_to(message, "/join/confirm/")
    manage = link_to(message, "/members/you?token=")
    assert confirm.removeprefix("/join/confirm/") in html_part(message)
    assert "works for 7 days" in text_part(message)

    # Opening the link (as a mail scanner would) changes nothing.
    shown = await client.get(confirm)
    assert shown.status_code == 200 and h1s(shown.text) == ["Confirm you want to join the resident panel"]
    assert (await member_rows(engine))[0]["status"] == "pending"
    done = await client.post(confirm, data={"_csrf_token": csrf_from(shown.text)})
    assert done.status_code == 200 and "You have joined the resident panel" in done.text
    assert "Preston" in text_of(done.text)
    [member] = await member_rows(engine)
    assert member["status"] == "active" and member["confirmed_at"] is not None

    # Single use: the link now says it has been used, and changes nothing.
    for again in (await client.get(confirm), await client.post(confirm, data={"_csrf_token": csrf_from(shown.text)})):
        assert again.status_code == 410 and h1s(again.text) == ["You have already confirmed"]
    # The manage link from the same email opens the member's details.
    details = await client.get(manage)
    assert details.status_code == 200 and "Preston" in text_of(details.text) and "35 to 44" in text_of(details.text)


@pytest.mark.parametrize(
    ("status", "subject", "link_prefix"),
    [
        ("active", "You are already on the Lancashire Talking resident panel", None),
        ("pending", "Confirm you want to join the Lancashire Talking resident panel", "/join/confirm/"),
        ("unsubscribed", "Confirm you want to rejoin the Lancashire Talking resident panel", "/join/confirm/"),
    ],
)
async def test_an_address_already_on_the_panel_sees_the_same_page_and_gets_the_email_that_fits(
    client: Client,
    engine: AsyncEngine,
    inbox: tuple[Inbox, int],
    status: str,
    subject: str,
    link_prefix: str | None,
) -> None:
    existing = await add_member(engine, "known@example.org", status=status)
    async with engine.begin() as conn:
        await conn.execute(update(members).values(district_code=PRESTON))
    fresh = await join_through_pages(client, "fresh@example.org", district=BLACKPOOL)
    client.cookies.clear()
    known = await join_through_pages(client, "KNOWN@example.org", district=BLACKPOOL, sex="female")
    # The same page, word for word but the address.
    assert text_of(known.text).replace("KNOWN@example.org", "X") == text_of(fresh.text).replace(
        "fresh@example.org", "X"
    )
    assert known.status_code == fresh.status_code == 200

    messages = await wait_for_mail(inbox[0], 2)
    [to_known] = [m for m in messages if m["To"].lower() == "known@example.org"]
    assert to_known["Subject"] == subject
    link_to(to_known, "/members/you?token=")
    rows = {row["email_key"]: row for row in await member_rows(engine)}
    assert len(rows) == 2 and rows["known@example.org"]["id"] == existing
    # Nothing about the known member changes until they confirm.
    assert rows["known@example.org"]["status"] == status and rows["known@example.org"]["district_code"] == PRESTON
    if link_prefix is None:
        assert "/join/confirm/" not in text_part(to_known)
        return
    confirm = link_to(to_known, link_prefix)
    shown = await client.get(confirm)
    rejoining = "rejoin" if status == "unsubscribed" else "join"
    assert h1s(shown.text) == [f"Confirm you want to {rejoining} the resident panel"]
    assert (await client.post(confirm, data={"_csrf_token": csrf_from(shown.text)})).status_code == 200
    rows = {row["email_key"]: row for row in await member_rows(engine)}
    # What they sent when joining again applies once they confirm.
    assert rows["known@example.org"]["status"] == "active"
    assert (rows["known@example.org"]["district_code"], rows["known@example.org"]["sex"]) == (BLACKPOOL, "female")
    assert rows["known@example.org"]["consent_version"] == PRIVACY_NOTICE_VERSION


async def test_an_erased_member_joins_as_new(client: Client, engine: AsyncEngine, inbox: tuple[Inbox, int]) -> None:
    erased = await add_member(engine, "placeholder@example.org", status="erased")
    async with engine.begin() as conn:
        await conn.execute(update(members).where(members.c.id == erased).values(email=None, email_key=None))
    await join_through_pages(client, "placeholder@example.org", district=PRESTON)
    [message] = await wait_for_mail(inbox[0], 1)
    assert message["Subject"].startswith("Confirm you want to join")
    rows = await member_rows(engine)
    assert [(row["status"], row["email"]) for row in rows] == [("erased", None), ("pending", "placeholder@example.org")]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your email address"),
        ("   ", "Enter your email address"),
        ("not an email", "Enter an email address in the correct format, like name@example.org"),
        ("resident@", "Enter an email address in the correct format, like name@example.org"),
        ("@example.org", "Enter an email address in the correct format, like name@example.org"),
        ("a@b@example.org", "Enter an email address in the correct format, like name@example.org"),
        ("resident@example.org\r\nBcc: x@example.org", "Your email address must be one line"),
        ("resident\x00@example.org", "Your email address must not contain"),
        ("x" * 250 + "@example.org", "Your email address must be 254 characters or fewer"),
    ],
)
async def test_a_bad_email_is_refused_with_a_clear_message(
    client: Client, engine: AsyncEngine, email: str, message: str
) -> None:
    assert (await client.get("/join")).status_code == 200
    refused = await submit(client, "/join/email", "/join/email", {"email": email})
    assert refused.status_code == 422
    [(href, text)] = error_summary(refused.text)
    assert href == "#email" and text.startswith(message), text
    # Nothing kept: the next page sends the resident back to the email page.
    assert (await client.get("/join/where-you-live", follow_redirects=False)).headers["location"] == "/join/email"
    assert await member_rows(engine) == []


@pytest.mark.parametrize(
    ("postcode", "district", "message"),
    [
        ("", "", "Enter your postcode, or choose your area from the list"),
        ("hello", "", "Enter a full postcode, like PR1 2HE"),
        ("PR1", "", "Enter a full postcode, like PR1 2HE"),
        ("SW1A 1AA", "", "SW1A 1AA is not a postcode we know in Lancashire"),
        ("zz99 9zz", "", "ZZ99 9ZZ is not a postcode we know in Lancashire"),
        ("", "E09000001", "Choose your area from the list"),
        ("", "x" * 3000, "Choose your area from the list"),
    ],
)
async def test_an_unknown_postcode_or_area_gets_a_clear_message_and_the_list(
    client: Client, postcode: str, district: str, message: str
) -> None:
    assert (await submit(client, "/join/email", "/join/email", {"email": "r@example.org"})).status_code == 303
    data = {"postcode": postcode, **({"district": district} if district else {})}
    refused = await submit(client, "/join/where-you-live", "/join/where-you-live", data)
    assert refused.status_code == 422
    [(_href, text)] = error_summary(refused.text)
    assert text.startswith(message), text
    assert refused.text.count('name="district"') == 14  # the list of areas to choose from instead
    assert (await client.get("/join/about-you", follow_redirects=False)).headers["location"] == "/join/where-you-live"


async def test_about_you_and_consent_refuse_what_the_pages_do_not_offer(client: Client, engine: AsyncEngine) -> None:
    await walk_to_check(client, "r@example.org", district=PRESTON)
    refused = await submit(client, "/join/about-you", "/join/about-you", {"age_band": "12-15", "sex": "x"})
    assert refused.status_code == 422 and len(error_summary(refused.text)) == 2
    for consent in ({}, {"consent": "an-old-version"}):
        refused = await submit(client, "/join/consent", "/join/consent", consent)
        assert refused.status_code == 422
        assert error_summary(refused.text) == [
            ("#consent", "Select that you agree to the privacy notice to join the panel")
        ]
    assert await member_rows(engine) == []


async def test_pages_out_of_order_go_to_the_first_question_not_answered(client: Client, engine: AsyncEngine) -> None:
    for page in ("/join/where-you-live", "/join/about-you", "/join/consent", "/join/check"):
        response = await client.get(page, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/join/email")
    shown = await client.get("/join/email")
    posted = await client.post("/join/check", data={"_csrf_token": csrf_from(shown.text)}, follow_redirects=False)
    assert posted.headers["location"] == "/join/email"
    assert (await client.get("/join/check-your-email", follow_redirects=False)).headers["location"] == "/join"
    assert await member_rows(engine) == []


async def test_changing_an_answer_from_the_check_page_comes_back_to_it(client: Client) -> None:
    await walk_to_check(client, "r@example.org", district=PRESTON)
    changed = await submit(
        client, "/join/where-you-live?change=yes", "/join/where-you-live?change=yes", {"postcode": "fy11an"}
    )
    assert changed.headers["location"] == "/join/check"
    assert "Blackpool" in text_of((await client.get("/join/check")).text)


def _token_signed(days_ago: float, value: object, purpose: str = "talking.members.join.confirm") -> str:
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class SignedEarlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(datetime.now(UTC).timestamp() - days_ago * 86400)

    return URLSafeTimedSerializer(SECRET, salt=purpose, signer=SignedEarlier).dumps(value)


async def test_every_bad_confirmation_link_gets_a_page_that_says_what_to_do(
    client: Client, engine: AsyncEngine
) -> None:
    member = await add_member(engine, "waiting@example.org", status="pending")
    async with engine.begin() as conn:
        await conn.execute(update(members).values(district_code=PRESTON))
    good = _token_signed(0, [member, PRESTON, PRIVACY_NOTICE_VERSION])
    cases = {
        "truncated": (good[:-6], 404, "This link does not work"),
        "forged": (good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"), 404, "This link does not work"),
        "not a token": ("hello", 404, "This link does not work"),
        "another purpose": (_token_signed(0, [member, PRESTON, "x"], "other"), 404, "This link does not work"),
        "not our shape": (_token_signed(0, {"member": member}), 404, "This link does not work"),
        "a member who is not there": (_token_signed(0, [999, PRESTON, "x"]), 404, "This link does not work"),
        "expired": (_token_signed(7.01, [member, PRESTON, PRIVACY_NOTICE_VERSION]), 410, "This link has expired"),
        "very long": ("x" * 5000, 404, "This link does not work"),
    }
    shown = await client.get("/join")
    for name, (token, status, heading) in cases.items():
        for response in (
            await client.get(f"/join/confirm/{token}"),
            await client.post(
                f"/join/confirm/{token}", data={"_csrf_token": csrf_from((await client.get("/join/email")).text)}
            ),
        ):
            assert (response.status_code, h1s(response.text)) == (status, [heading]), name
    assert shown.status_code == 200
    assert (await member_rows(engine))[0]["status"] == "pending"
    # Six days old still works.
    ok = _token_signed(6.9, [member, PRESTON, PRIVACY_NOTICE_VERSION])
    assert (await client.get(f"/join/confirm/{ok}")).status_code == 200


async def test_joining_is_rate_limited_on_the_last_step_and_nothing_is_stored_over_it(
    client: Client, engine: AsyncEngine, app: object
) -> None:
    limit = int(Settings().rate_limit_join.split("/")[0])
    for n in range(limit):
        await walk_to_check(client, f"r{n}@example.org", district=PRESTON)
        assert (await send_join(client)).status_code == 303
    await walk_to_check(client, "one-too-many@example.org", district=PRESTON)
    refused = await send_join(client)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert len(await member_rows(engine)) == limit
    # The answers are kept for after the wait.
    assert "one-too-many@example.org" in text_of((await client.get("/join/check")).text)


async def test_joins_with_one_address_at_once_make_one_member(engine: AsyncEngine) -> None:
    """The service on its own: many transactions at once, the address in different cases."""
    addresses = [f"{'Same' if n % 2 else 'SAME'}@Example.org" for n in range(12)]

    async def one(address: str) -> None:
        async with immediate(engine).begin() as conn:
            await join(conn, JoinAnswers(address, PRESTON), base_url=BASE_URL, secret_key=SECRET)

    await asyncio.gather(*(one(address) for address in addresses))
    rows = await member_rows(engine)
    assert [(row["email_key"], row["status"]) for row in rows] == [("same@example.org", "pending")]
    async with engine.connect() as conn:
        kinds = (await conn.execute(select(mail_outbox.c.kind))).scalars().all()
    assert sorted(kinds) == ["join_confirmation"] * 12  # the first a new link, the rest a fresh one each


async def test_joins_with_one_address_at_once_through_two_workers_make_one_member_and_no_error(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    with live_server(database_url, tmp_path, workers=2, extra_env={"TALKING_BASE_URL": BASE_URL}) as server:
        clients = [httpx.AsyncClient(base_url=server.url, timeout=30) for _ in range(8)]
        try:
            for n, each in enumerate(clients):
                await walk_to_check(each, ("race@example.org" if n % 2 else "RACE@example.ORG"), district=PRESTON)  # type: ignore[arg-type]
            sent = await asyncio.gather(*(send_join(each) for each in clients))  # type: ignore[arg-type]
        finally:
            for each in clients:
                await each.aclose()
        assert [response.status_code for response in sent] == [303] * 8, server.log(tail=40)
        assert "Traceback" not in server.log()
    rows = await member_rows(engine)
    assert len(rows) == 1 and rows[0]["email_key"] == "race@example.org"
