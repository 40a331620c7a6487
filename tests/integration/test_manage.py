"""A member's own pages from the manage link: change details, unsubscribe, delete for good; bad links;
and the invitation's "Moved? Update your details" route."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, invitations, mail_outbox, members
from talking.invitation_tokens import invitation_token, token_hash
from talking.mail.outbox import queue_message
from talking.members.join import PRIVACY_NOTICE_VERSION
from talking.members.manage import manage_token, manage_url
from talking.members.unsubscribe import unsubscribe_url
from talking.signed_tokens import sign_id

from ..conftest import publish_survey
from .join_helpers import SECRET, member_rows
from .mail_helpers import a_message, add_member
from .staff_helpers import Client, csrf_from, error_summary, h1s, submit, text_of

PRESTON, BLACKPOOL = "E07000123", "E06000009"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


async def a_member(engine: AsyncEngine, status: str = "active", email: str = "member@example.org") -> int:
    member = await add_member(engine, email, status=status)
    async with engine.begin() as conn:
        await conn.execute(
            update(members).where(members.c.id == member).values(district_code=PRESTON, age_band="45-54", sex="male")
        )
    return member


def you(member_id: int, page: str = "") -> str:
    return f"/members/you{page}?token={manage_token(SECRET, member_id)}"


async def row(engine: AsyncEngine, member_id: int) -> dict[str, object]:
    return next(r for r in await member_rows(engine) if r["id"] == member_id)


async def test_the_manage_link_shows_the_members_details_and_no_address(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    url = manage_url("https://talking.example", SECRET, member)
    page = await client.get(url.removeprefix("https://talking.example"))
    assert page.status_code == 200 and h1s(page.text) == ["Your details on the resident panel"]
    shown = text_of(page.text)
    assert "Preston" in shown and "45 to 54" in shown and "Male" in shown
    assert "member@example.org" not in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_changing_the_area_by_postcode_or_list_with_a_banner(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    token = manage_token(SECRET, member)
    page_url = f"/members/you/where-you-live?token={token}"
    moved = await submit(client, page_url, page_url, {"postcode": "fy1 1an"})
    assert moved.status_code == 303 and moved.headers["location"] == f"/members/you?token={token}"
    page = await client.get(you(member))
    assert "Your area is now Blackpool." in text_of(page.text) and "govuk-notification-banner" in page.text
    assert (await row(engine, member))["district_code"] == BLACKPOOL
    # The banner is shown once.
    assert "govuk-notification-banner" not in (await client.get(you(member))).text
    chosen = await submit(client, you(member, "/where-you-live"), you(member, "/where-you-live"), {"district": PRESTON})
    assert chosen.status_code == 303 and (await row(engine, member))["district_code"] == PRESTON


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"postcode": "SW1A 1AA"}, "SW1A 1AA is not a postcode we know in Lancashire"),
        ({"postcode": "nonsense"}, "Enter a full postcode, like PR1 2HE"),
        ({"postcode": ""}, "Enter your postcode, or choose your area from the list"),
        ({"district": "E09000001"}, "Choose your area from the list"),
    ],
)
async def test_a_bad_postcode_or_area_changes_nothing(
    client: Client, engine: AsyncEngine, data: dict[str, str], message: str
) -> None:
    member = await a_member(engine)
    refused = await submit(client, you(member, "/where-you-live"), you(member, "/where-you-live"), data)
    assert refused.status_code == 422
    [(_href, text)] = error_summary(refused.text)
    assert text.startswith(message)
    assert (await row(engine, member))["district_code"] == PRESTON


async def test_changing_about_you_and_refusing_what_is_not_offered(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    changed = await submit(client, you(member, "/about-you"), you(member, "/about-you"), {"age_band": "65-74"})
    assert changed.status_code == 303
    assert "Your answers about you have been changed." in text_of((await client.get(you(member))).text)
    assert ((await row(engine, member))["age_band"], (await row(engine, member))["sex"]) == ("65-74", None)
    refused = await submit(client, you(member, "/about-you"), you(member, "/about-you"), {"sex": "robot"})
    assert refused.status_code == 422 and error_summary(refused.text)[0][0] == "#sex"
    assert (await row(engine, member))["age_band"] == "65-74"


async def test_unsubscribing_from_the_manage_page(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    left = await submit(client, you(member), you(member, "/unsubscribe"), {})
    assert left.status_code == 303
    page = text_of((await client.get(you(member))).text)
    assert "You have unsubscribed. We will not email you again about surveys." in page
    assert (await row(engine, member))["status"] == "unsubscribed"


async def test_deleting_asks_first_then_erases_the_member_for_good(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    other = await a_member(engine, email="other@example.org")
    survey = await publish_survey(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for who in (member, other):
            token = invitation_token(SECRET, survey, who)
            await conn.execute(
                insert(invitations).values(
                    survey_id=survey, member_id=who, district_code=PRESTON, token_hash=token_hash(token), invited_at=now
                )
            )
        queued = await queue_message(conn, a_message(1, to="member@example.org", member_id=member))
        await conn.execute(update(mail_outbox).values(next_attempt_at=datetime(2100, 1, 1, tzinfo=UTC)))
    asked = await client.get(you(member, "/delete"))
    assert asked.status_code == 200 and h1s(asked.text) == ["Are you sure you want to delete your details?"]
    assert (await row(engine, member))["status"] == "active"  # opening the page changes nothing
    done = await client.post(
        you(member, "/delete"), data={"_csrf_token": csrf_from(asked.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/members/deleted"
    assert h1s((await client.get("/members/deleted")).text) == ["Your details have been deleted"]

    erased = await row(engine, member)
    assert erased["status"] == "erased"
    assert all(erased[f] is None for f in ("email", "email_key", "district_code", "age_band", "sex"))
    assert (await row(engine, other))["email"] == "other@example.org"
    async with engine.connect() as conn:
        linked = dict((await conn.execute(select(invitations.c.token_hash, invitations.c.member_id))).all())
        outbox = (await conn.execute(select(mail_outbox).where(mail_outbox.c.id == queued))).one()._mapping
        audit = (
            await conn.execute(
                select(audit_events.c.action, audit_events.c.actor_email).where(audit_events.c.target_type == "member")
            )
        ).all()
    assert linked == {
        token_hash(invitation_token(SECRET, survey, member)): None,
        token_hash(invitation_token(SECRET, survey, other)): other,
    }
    assert outbox["status"] == "cancelled" and outbox["recipient"] is None and outbox["body_text"] is None
    assert audit == [("member_erased", "the member, from their manage link")]
    # The link now says the details are gone.
    gone = await client.get(you(member))
    assert gone.status_code == 410 and h1s(gone.text) == ["Your details have been deleted"]


def _expired_token(member_id: int) -> str:
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class SignedEarlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(datetime.now(UTC).timestamp()) - 91 * 86400

    return URLSafeTimedSerializer(SECRET, salt="talking.members.manage", signer=SignedEarlier).dumps(member_id)


async def test_every_bad_manage_link_says_what_to_do_and_changes_nothing(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    good = manage_token(SECRET, member)
    unsubscribe_token = unsubscribe_url("", SECRET, member).rsplit("/", 1)[1]
    cases = {
        "no token": ("", 404, "This link does not work"),
        "truncated": (good[:-5], 404, "This link does not work"),
        "forged": (good[:-2] + ("xx" if not good.endswith("xx") else "yy"), 404, "This link does not work"),
        "an unsubscribe token": (unsubscribe_token, 404, "This link does not work"),
        "another key": (manage_token("another-key", member), 404, "This link does not work"),
        "not an id": (manage_token(SECRET, "x"), 404, "This link does not work"),  # type: ignore[arg-type]
        "very long": ("x" * 5000, 404, "This link does not work"),
        "expired": (_expired_token(member), 410, "This link has expired"),
        "nobody": (manage_token(SECRET, 424242), 410, "Your details have been deleted"),
    }
    csrf = csrf_from((await client.get(you(member, "/delete"))).text)
    for name, (token, status, heading) in cases.items():
        for page in ("", "/where-you-live", "/about-you", "/delete"):
            response = await client.get(f"/members/you{page}?token={token}")
            assert (response.status_code, h1s(response.text)) == (status, [heading]), (name, page)
        for page in ("/where-you-live", "/about-you", "/unsubscribe", "/delete"):
            response = await client.post(
                f"/members/you{page}?token={token}", data={"_csrf_token": csrf, "district": BLACKPOOL}
            )
            assert response.status_code == status, (name, page)
    assert (await client.get("/members/you")).status_code == 404
    after = await row(engine, member)
    assert (after["status"], after["district_code"]) == ("active", PRESTON)


async def test_a_form_without_its_csrf_token_is_refused(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    await client.get(you(member))
    assert (await client.post(you(member, "/delete"), data={})).status_code == 403
    assert (await row(engine, member))["status"] == "active"


@pytest.mark.parametrize("status", ["active", "unsubscribed"])
async def test_an_invitations_details_link_opens_the_members_manage_page(
    client: Client, engine: AsyncEngine, status: str
) -> None:
    member = await a_member(engine, status=status)
    survey = await publish_survey(engine)
    token = invitation_token(SECRET, survey, member)
    async with engine.begin() as conn:
        await conn.execute(
            insert(invitations).values(
                survey_id=survey,
                member_id=member,
                district_code=PRESTON,
                token_hash=token_hash(token),
                invited_at=datetime.now(UTC),
            )
        )
    moved = await client.get(f"/i/{token}/details", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"].startswith("/members/you?token=")
    page = await client.get(moved.headers["location"])
    assert page.status_code == 200 and "Preston" in text_of(page.text)


async def test_an_invitations_details_link_that_names_no_member_is_not_found(
    client: Client, engine: AsyncEngine
) -> None:
    pending = await a_member(engine, status="pending", email="pending@example.org")
    erased = await a_member(engine, email="erased@example.org")
    survey = await publish_survey(engine)
    async with engine.begin() as conn:
        for who in (pending, erased):
            await conn.execute(
                insert(invitations).values(
                    survey_id=survey,
                    member_id=who,
                    district_code=PRESTON,
                    token_hash=token_hash(invitation_token(SECRET, survey, who)),
                    invited_at=datetime.now(UTC),
                )
            )
    submitted = await submit(client, you(erased, "/delete"), you(erased, "/delete"), {})
    assert submitted.status_code == 303
    for token in (
        invitation_token(SECRET, survey, pending),  # never confirmed
        invitation_token(SECRET, survey, erased),  # erased: the invitation no longer names anyone
        invitation_token(SECRET, survey, 999),  # no such invitation
        invitation_token(SECRET, survey, pending)[:-1],  # cut short
        "x" * 43,
        sign_id(SECRET, "talking.members.manage", pending),
    ):
        response = await client.get(f"/i/{token}/details", follow_redirects=False)
        assert response.status_code == 404 and h1s(response.text) == ["We cannot find your details"], token


async def test_the_privacy_notice_shows_the_version_members_agree_to(client: Client) -> None:
    page = await client.get("/privacy")
    assert f"Version {PRIVACY_NOTICE_VERSION}" in text_of(page.text)
    assert "Your answers are never linked to you." in text_of(page.text)


async def test_the_unsubscribed_page_links_to_the_members_details(client: Client, engine: AsyncEngine) -> None:
    member = await a_member(engine)
    left = await client.post(unsubscribe_url("", SECRET, member), content=b"List-Unsubscribe=One-Click")
    found = re.search(r'href="(/members/you\?token=[^"]+)"', left.text)
    assert left.status_code == 200 and found
    assert "Preston" in text_of((await client.get(unescape(found.group(1)))).text)
