"""Staff sign-in, sessions, API tokens and the admin pages, through the real app and its real forms."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from argon2 import PasswordHasher, Type
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking import audit
from talking.app import create_app
from talking.db.engine import create_engine
from talking.db.models import api_tokens, audit_events, sign_in_throttle, users
from talking.settings import Settings

from ..conftest import STAFF_PASSWORD, make_token, make_user
from .conftest import STAFF, NewStore
from .staff_helpers import (
    GENERIC_REFUSAL,
    SESSION_COOKIE,
    Client,
    csrf_from,
    error_summary,
    h1s,
    sign_in,
    sign_out,
    submit,
    text_of,
    title,
)

ADMIN = "admin@lancashire.test"
ANALYST = "analyst@lancashire.test"


@pytest.fixture
async def admin_id(engine: AsyncEngine) -> int:
    return await make_user(engine, ADMIN, "admin")


@pytest.fixture
async def staff_id(engine: AsyncEngine) -> int:
    return await make_user(engine, STAFF, "staff")


async def audit_actions(engine: AsyncEngine) -> list[str]:
    """Every audit action recorded, oldest first."""
    async with engine.connect() as conn:
        return list((await conn.execute(select(audit_events.c.action).order_by(audit_events.c.id))).scalars())


async def rewrite_staff_session(app: Litestar, client: Client, **changes: int) -> None:
    """Change the signed-in session's stored times, as if the clock had moved on."""
    store = app.stores.get("sessions")
    key = client.cookies[SESSION_COOKIE]
    data = msgspec.json.decode(await store.get(key))
    data["staff"].update(changes)
    await store.set(key, msgspec.json.encode(data), expires_in=3600)


def table_rows(html: str) -> list[list[str]]:
    """The text of each cell of each row in the page's table body."""
    body = re.search(r'<tbody class="govuk-table__body">(.*?)</tbody>', html, re.S)
    if not body:
        return []
    return [
        [text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    ]


# --- signing in and out ----------------------------------------------------------------------------


async def test_sign_in_page(client: Client) -> None:
    page = await client.get("/sign-in")
    assert page.status_code == 200
    assert title(page.text) == "Sign in - Lancashire Talking"
    assert h1s(page.text) == ["Sign in"]
    assert '<label class="govuk-label govuk-label--s" for="email">' in page.text
    assert '<label class="govuk-label govuk-label--s" for="password">' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert "govuk-service-navigation" not in page.text  # no staff menu for anyone not signed in


async def test_sign_in_and_out_on_each_database(each_database_url: str) -> None:
    engine = create_engine(each_database_url)
    try:
        await make_user(engine, STAFF, "staff")
        app = create_app(Settings(database_url=each_database_url, secret_key="test-secret-key"))
        async with AsyncTestClient(app=app) as client:
            signed_in = await sign_in(client, "  Staff@Lancashire.TEST ")
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == "/staff"
            account = await client.get("/account")
            assert account.status_code == 200
            assert STAFF in account.text
            assert "Sign out" in account.text

            signed_out = await sign_out(client)
            assert signed_out.status_code == 303
            assert signed_out.headers["location"] == "/sign-in?signed-out=1"
            notice = await client.get(signed_out.headers["location"])
            assert "You have signed out." in notice.text
            again = await client.get("/account", follow_redirects=False)
            assert again.status_code == 303
            assert again.headers["location"] == "/sign-in?next=%2Faccount"
        async with engine.connect() as conn:
            actions = list((await conn.execute(select(audit_events.c.action).order_by(audit_events.c.id))).scalars())
            stamped = (await conn.execute(select(users.c.last_sign_in_at).where(users.c.email == STAFF))).scalar_one()
        assert actions == ["user_created", "sign_in", "sign_out"]
        assert stamped is not None
    finally:
        await engine.dispose()


async def test_signed_out_session_cannot_be_replayed(client: Client, staff_id: int) -> None:
    await sign_in(client, STAFF)
    old = client.cookies[SESSION_COOKIE]
    await sign_out(client)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, old)
    assert (await client.get("/account", follow_redirects=False)).status_code == 303


async def test_anonymous_is_sent_to_sign_in_and_back(client: Client, admin_id: int) -> None:
    bounced = await client.get("/admin/audit?action=sign_in", follow_redirects=False)
    assert bounced.status_code == 303
    assert bounced.headers["location"] == "/sign-in?next=%2Fadmin%2Faudit%3Faction%3Dsign_in"
    signed_in = await sign_in(client, ADMIN, next_url="%2Fadmin%2Faudit%3Faction%3Dsign_in")
    assert signed_in.headers["location"] == "/admin/audit?action=sign_in"


@pytest.mark.parametrize(
    "next_url",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil", "/\nSet-Cookie:x=1", ""],
)
async def test_next_must_be_a_local_path(client: Client, staff_id: int, next_url: str) -> None:
    shown = await client.get("/sign-in", params={"next": next_url})
    assert 'name="next"' not in shown.text
    posted = await client.post(
        "/sign-in",
        data={"_csrf_token": csrf_from(shown.text), "email": STAFF, "password": STAFF_PASSWORD, "next": next_url},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/staff"


@pytest.mark.parametrize("email", [STAFF, "nobody@lancashire.test"])
async def test_wrong_password_or_unknown_email_get_one_message(client: Client, staff_id: int, email: str) -> None:
    refused = await sign_in(client, email, "not the password at all")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert title(refused.text) == "Error: Sign in - Lancashire Talking"
    assert error_summary(refused.text) == [("#email", GENERIC_REFUSAL)]
    assert f'value="{email}"' in refused.text  # the email is kept ...
    assert "not the password at all" not in refused.text  # ... the password never
    assert SESSION_COOKIE not in client.cookies or (await client.get("/account", follow_redirects=False)).is_redirect


async def test_empty_fields_are_named(client: Client) -> None:
    refused = await sign_in(client, "", "")
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#email", "Enter your email address"), ("#password", "Enter your password")]


async def test_repeated_failures_are_throttled_alike_for_known_and_unknown(
    client: Client, engine: AsyncEngine, staff_id: int
) -> None:
    async def throttled_after(email: str) -> tuple[int, str]:
        for attempt in range(1, 9):
            refused = await sign_in(client, email, f"wrong guess {attempt}")
            assert refused.status_code == 422
            (_href, message), *_ = error_summary(refused.text)
            if message != GENERIC_REFUSAL:
                assert re.fullmatch(r"Too many failed attempts\. Wait \d+ seconds? and try again\.", message)
                assert int(refused.headers["retry-after"]) >= 1
                return attempt, message
        raise AssertionError("never throttled")

    known_attempt, _ = await throttled_after(STAFF)
    unknown_attempt, _ = await throttled_after("nobody@lancashire.test")
    assert known_attempt == unknown_attempt >= 4  # three free failures, then a wait
    # While a wait lasts even the right password is turned away, with the same message. (The first waits
    # are a second or two, so make this one longer than the test could take.)
    async with engine.begin() as conn:
        await conn.execute(
            update(sign_in_throttle)
            .where(sign_in_throttle.c.email == STAFF)
            .values(failures=10, last_failed_at=datetime.now(UTC))
        )
    right = await sign_in(client, STAFF)
    assert right.status_code == 422
    assert re.fullmatch(
        r"Too many failed attempts\. Wait 1[0-9]{2} seconds and try again\.", error_summary(right.text)[0][1]
    )


async def test_session_id_changes_on_sign_in(
    client: Client, new_store: NewStore, staff_id: int, open_survey: int
) -> None:
    # A resident's half-answered survey gives the browser a session before anyone signs in.
    started = await submit(
        client, f"/surveys/{open_survey}/district", f"/surveys/{open_survey}/district", {"district": "E07000123"}
    )
    assert started.status_code == 303
    before = client.cookies[SESSION_COOKIE]
    await sign_in(client, STAFF)
    after = client.cookies[SESSION_COOKIE]
    assert after != before
    stored = new_store()  # the sessions as any worker finds them
    assert not await stored.exists(before)  # the old id is gone, so nobody who knew it is signed in
    assert await stored.exists(after)


async def test_idle_timeout(app: Litestar, client: Client, staff_id: int) -> None:
    await sign_in(client, STAFF)
    now = int(time.time())
    await rewrite_staff_session(app, client, seen=now - 29 * 60)
    assert (await client.get("/account")).status_code == 200  # 29 minutes idle: still signed in
    await rewrite_staff_session(app, client, seen=now - 31 * 60)
    timed_out = await client.get("/account", follow_redirects=False)
    assert timed_out.status_code == 303
    assert timed_out.headers["location"].startswith("/sign-in?next=")


async def test_absolute_lifetime(app: Litestar, client: Client, staff_id: int) -> None:
    await sign_in(client, STAFF)
    now = int(time.time())
    await rewrite_staff_session(app, client, started=now - 11 * 3600, seen=now)
    assert (await client.get("/account")).status_code == 200
    await rewrite_staff_session(app, client, started=now - 12 * 3600 - 60, seen=now)  # busy all day, still out
    assert (await client.get("/account", follow_redirects=False)).status_code == 303


async def test_deactivated_user_is_signed_out_and_tokens_stop(
    client: Client, engine: AsyncEngine, staff_id: int
) -> None:
    token = await make_token(engine, staff_id)
    bearer = {"Authorization": f"Bearer {token}"}
    await sign_in(client, STAFF)
    assert (await client.get("/account")).status_code == 200
    assert (await client.get("/api/v1/surveys", headers=bearer)).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(update(users).where(users.c.id == staff_id).values(is_active=False))
    assert (await client.get("/account", follow_redirects=False)).status_code == 303
    assert (await client.get("/api/v1/surveys", headers=bearer)).status_code == 401
    # And the right password no longer gets in, with the same message as a wrong one.
    refused = await sign_in(client, STAFF)
    assert refused.status_code == 422
    assert error_summary(refused.text) == [("#email", GENERIC_REFUSAL)]


async def test_posts_without_the_csrf_token_are_refused(client: Client, engine: AsyncEngine, admin_id: int) -> None:
    await sign_in(client, ADMIN)
    new = {
        "email": "new@lancashire.test",
        "role": "staff",
        "password": STAFF_PASSWORD,
        "confirm_password": STAFF_PASSWORD,
    }
    for data in (new, {**new, "_csrf_token": "forged"}):
        refused = await client.post("/admin/users/new", data=data, follow_redirects=False)
        assert refused.status_code == 403
    assert (await client.post("/sign-out", follow_redirects=False)).status_code == 403
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 1
    assert (await client.get("/account")).status_code == 200  # still signed in
    assert "sign_out" not in await audit_actions(engine)


# --- API tokens on the account page ----------------------------------------------------------------


async def test_token_is_shown_once_then_works_until_revoked(
    app: Litestar, client: Client, engine: AsyncEngine, staff_id: int
) -> None:
    await sign_in(client, STAFF)
    created = await submit(client, "/account", "/account/tokens", {"name": "weekly export"})
    assert created.status_code == 303
    assert created.headers["location"] == "/account/tokens/new"
    shown = await client.get("/account/tokens/new")
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert h1s(shown.text) == ["API token created"]
    assert "You will not be able to see it again" in shown.text
    token = re.search(r'value="(tk_[A-Za-z0-9_-]+)"', shown.text).group(1)
    # Gone from the session once shown: a reload goes back to the account page.
    stored = await app.stores.get("sessions").get(client.cookies[SESSION_COOKIE])
    assert token.encode() not in stored
    again = await client.get("/account/tokens/new", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/account"

    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/surveys", headers=bearer)).status_code == 200
    account = await client.get("/account")
    assert token not in account.text
    assert token[:10] in account.text
    rows = table_rows(account.text)
    assert len(rows) == 1
    name, prefix, _created, last_used, status, _action = rows[0]
    assert (name, prefix, status) == ("weekly export", f"{token[:10]}…", "Live")
    assert last_used != "Never"  # used just now

    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', account.text).group(1)
    revoked = await submit(client, "/account", f"/account/tokens/{token_id}/revoke", {})
    assert revoked.status_code == 303
    after = await client.get("/account")
    assert "has been revoked" in after.text
    assert table_rows(after.text)[0][4].startswith("Revoked")
    assert f"/account/tokens/{token_id}/revoke" not in after.text
    refused = await client.get("/api/v1/surveys", headers=bearer)
    assert refused.status_code == 401
    assert await audit_actions(engine) == ["user_created", "sign_in", "token_created", "token_revoked"]


async def test_token_needs_a_name(client: Client, staff_id: int) -> None:
    await sign_in(client, STAFF)
    refused = await submit(client, "/account", "/account/tokens", {"name": "   "})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert error_summary(refused.text) == [("#name", "Enter a name for the token of 100 characters or fewer")]
    assert title(refused.text) == "Error: Your account - Lancashire Talking"


async def test_cannot_revoke_someone_elses_token(client: Client, engine: AsyncEngine, staff_id: int) -> None:
    other = await make_user(engine, ANALYST, "analyst")
    token = await make_token(engine, other)
    async with engine.connect() as conn:
        token_id = (await conn.execute(select(api_tokens.c.id))).scalar_one()
    await sign_in(client, STAFF)
    refused = await submit(client, "/account", f"/account/tokens/{token_id}/revoke", {})
    assert refused.status_code == 404
    assert (await client.get("/api/v1/districts", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert "token_revoked" not in await audit_actions(engine)


async def test_analyst_has_an_account_page_but_no_admin(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, ANALYST, "analyst")
    await sign_in(client, ANALYST)
    account = await client.get("/account")
    assert account.status_code == 200
    assert "Analyst" in account.text
    assert 'href="/admin/users"' not in account.text
    assert 'href="/account"' in account.text


# --- admin pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "analyst"])
async def test_admin_pages_are_forbidden_below_admin(client: Client, engine: AsyncEngine, role: str) -> None:
    await make_user(engine, f"{role}@lancashire.test", role)
    await sign_in(client, f"{role}@lancashire.test")
    for path in ("/admin/users", "/admin/users/new", "/admin/users/1", "/admin/audit"):
        forbidden = await client.get(path, follow_redirects=False)
        assert forbidden.status_code == 403, path
    token = csrf_from((await client.get("/account")).text)
    posted = await client.post("/admin/users/1/role", data={"_csrf_token": token, "role": role})
    assert posted.status_code == 403
    async with engine.connect() as conn:
        assert (await conn.execute(select(users.c.role).where(users.c.id == 1))).scalar_one() == role


async def test_admin_manages_accounts_and_the_audit_log_shows_it(
    client: Client, engine: AsyncEngine, admin_id: int
) -> None:
    await sign_in(client, ADMIN)
    listing = await client.get("/admin/users")
    assert listing.status_code == 200
    assert h1s(listing.text) == ["Staff accounts"]
    assert 'href="/admin/users"' in listing.text and 'href="/admin/audit"' in listing.text  # the admin's menu

    form = {"email": "Ana@Lancashire.test", "role": "analyst", "password": STAFF_PASSWORD}
    added = await submit(client, "/admin/users/new", "/admin/users/new", {**form, "confirm_password": STAFF_PASSWORD})
    assert added.status_code == 303
    user_url = added.headers["location"]
    assert re.fullmatch(r"/admin/users/\d+", user_url)
    user_page = await client.get(user_url)
    assert "Account created for ana@lancashire.test (analyst)." in user_page.text
    assert h1s(user_page.text) == ["ana@lancashire.test"]
    new_id = int(user_url.rsplit("/", 1)[1])
    token = await make_token(engine, new_id)
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/surveys", headers=bearer)).status_code == 403  # analysts cannot

    duplicate = await submit(
        client, "/admin/users/new", "/admin/users/new", {**form, "confirm_password": STAFF_PASSWORD}
    )
    assert duplicate.status_code == 422
    assert duplicate.headers["content-type"].startswith("text/html")
    assert error_summary(duplicate.text) == [("#email", "There is already an account with this email address")]
    assert 'value="Ana@Lancashire.test"' in duplicate.text
    assert STAFF_PASSWORD not in duplicate.text

    changed = await submit(client, user_url, f"{user_url}/role", {"role": "staff"})
    assert changed.status_code == 303
    assert "ana@lancashire.test is now staff." in (await client.get(user_url)).text
    assert (await client.get("/api/v1/surveys", headers=bearer)).status_code == 200

    deactivated = await submit(client, user_url, f"{user_url}/active", {"active": "false"})
    assert deactivated.status_code == 303
    assert "has been deactivated" in (await client.get(user_url)).text
    assert (await client.get("/api/v1/surveys", headers=bearer)).status_code == 401
    assert ["ana@lancashire.test", "Staff", "Deactivated", "Never"] in table_rows(
        (await client.get("/admin/users")).text
    )

    log = await client.get("/admin/audit")
    assert log.status_code == 200
    rows = table_rows(log.text)
    target = f"user {new_id}"
    assert [row[1:4] for row in rows if row[1] == ADMIN][:3] == [
        [ADMIN, "User deactivated", target],
        [ADMIN, "User role changed", target],
        [ADMIN, "User created", target],
    ]
    assert rows[1][4] == "email: ana@lancashire.test, from: analyst, to: staff"
    assert rows[2][1:4] == ["command line", "Token created", "token 1"]
    assert rows[0][5] == "testclient"  # the test client's address
    assert f'<a class="govuk-link" href="/admin/users/{new_id}">{target}</a>' in log.text

    only_role_changes = await client.get("/admin/audit", params={"action": "user_role_changed"})
    assert [row[2] for row in table_rows(only_role_changes.text)] == ["User role changed"]
    assert '<option value="user_role_changed" selected>' in only_role_changes.text


async def test_new_account_errors_are_all_listed(client: Client, engine: AsyncEngine, admin_id: int) -> None:
    await sign_in(client, ADMIN)
    bad = {"email": "not-an-email", "password": "short", "confirm_password": "different"}
    refused = await submit(client, "/admin/users/new", "/admin/users/new", bad)
    assert refused.status_code == 422
    assert title(refused.text) == "Error: Add a staff account - Lancashire Talking"
    assert [href for href, _message in error_summary(refused.text)] == [
        "#email",
        "#role",
        "#password",
        "#confirm_password",
    ]
    # A good account whose two passwords differ is not added either.
    mismatch = {"email": "ok@lancashire.test", "role": "staff", "password": STAFF_PASSWORD, "confirm_password": "x"}
    refused = await submit(client, "/admin/users/new", "/admin/users/new", mismatch)
    assert error_summary(refused.text) == [("#confirm_password", "The passwords do not match")]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 1
    assert await audit_actions(engine) == ["user_created", "sign_in"]


async def test_admin_cannot_lock_themselves_out(client: Client, engine: AsyncEngine, admin_id: int) -> None:
    await sign_in(client, ADMIN)
    own = f"/admin/users/{admin_id}"
    demoted = await submit(client, own, f"{own}/role", {"role": "staff"})
    assert demoted.status_code == 422
    assert error_summary(demoted.text) == [("#role", "You cannot take away your own admin role")]
    deactivated = await submit(client, own, f"{own}/active", {"active": "false"})
    assert deactivated.status_code == 422
    assert error_summary(deactivated.text) == [("#active", "You cannot deactivate your own account")]
    async with engine.connect() as conn:
        row = (await conn.execute(select(users.c.role, users.c.is_active).where(users.c.id == admin_id))).one()
    assert (row.role, row.is_active) == ("admin", True)


async def test_unknown_user_is_not_found(client: Client, admin_id: int) -> None:
    await sign_in(client, ADMIN)
    assert (await client.get("/admin/users/999")).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "dance"}, [("#action", "Choose an action from the list")]),
        (
            {"from-day": "31", "from-month": "2", "from-year": "2026"},
            [("#from-day", "The from date must be a real date, like 27 3 2026")],
        ),
        ({"to-day": "3", "to-month": "", "to-year": "2026"}, [("#to-day", "The to date must include a month")]),
        (
            {
                "from-day": "2",
                "from-month": "3",
                "from-year": "2026",
                "to-day": "1",
                "to-month": "3",
                "to-year": "2026",
            },
            [("#to-day", "The to date must be the same as or after the from date")],
        ),
        (
            {"from-day": "x", "from-month": "3", "from-year": "26"},
            [("#from-day", "The from date must be a real date, like 27 3 2026")],
        ),
    ],
)
async def test_bad_audit_filters_are_422(
    client: Client, admin_id: int, query: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    await sign_in(client, ADMIN)
    refused = await client.get("/admin/audit", params=query)
    assert refused.status_code == 422
    assert title(refused.text) == "Error: Audit log - Lancashire Talking"
    assert error_summary(refused.text) == expected
    for name, value in query.items():
        if value and name != "action":  # an unknown action cannot be shown in the list
            assert f'name="{name}"' in refused.text and f'value="{value}"' in refused.text


async def test_audit_log_filters_by_who_and_when_and_pages_by_50(
    client: Client, engine: AsyncEngine, admin_id: int
) -> None:
    async with engine.begin() as conn:
        for n in range(120):
            await audit.record(conn, "report_exported", actor_email=f"analyst{n % 2}@lancashire.test", detail={"n": n})
        # One event from long ago, in the small hours of a UK summer date (the day before in UTC is wrong).
        await audit.record(conn, "survey_closed", actor_email="old@lancashire.test", target_type="survey", target_id=7)
        await conn.execute(
            update(audit_events)
            .where(audit_events.c.action == "survey_closed")
            .values(at=datetime(2025, 6, 30, 23, 30, tzinfo=UTC))  # 00:30 on 1 July in London
        )
    await sign_in(client, ADMIN)

    first = await client.get("/admin/audit")
    assert len(table_rows(first.text)) == 50
    assert "Events 1 to 50 of 123" in text_of(first.text)
    assert table_rows(first.text)[0][2] == "Sign in"  # newest first

    filtered = {"action": "report_exported", "actor": "ANALYST1@"}
    page_one = await client.get("/admin/audit", params=filtered)
    assert "Events 1 to 50 of 60" in text_of(page_one.text)
    assert {row[1] for row in table_rows(page_one.text)} == {"analyst1@lancashire.test"}
    next_href = re.search(r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next"', page_one.text)
    next_query = parse_qs(urlsplit(next_href.group(1).replace("&amp;", "&")).query)
    assert next_query == {"action": ["report_exported"], "actor": ["ANALYST1@"], "page": ["2"]}
    page_two = await client.get("/admin/audit", params={**filtered, "page": "2"})
    assert len(table_rows(page_two.text)) == 10
    assert 'aria-current="page"' in page_two.text

    on_the_day = {"from-day": "1", "from-month": "7", "from-year": "2025", "to-day": "1", "to-month": "7"}
    found = await client.get("/admin/audit", params={**on_the_day, "to-year": "2025"})
    assert found.status_code == 200
    rows = table_rows(found.text)
    assert len(rows) == 1
    assert rows[0][:4] == ["1 Jul 2025, 00:30:00", "old@lancashire.test", "Survey closed", "survey 7"]
    day_before = {"from-day": "30", "from-month": "6", "from-year": "2025", "to-day": "30", "to-month": "6"}
    assert table_rows((await client.get("/admin/audit", params={**day_before, "to-year": "2025"})).text) == []


# --- passwords ------------------------------------------------------------------------------------


def argon2_parameters(encoded: str) -> dict[str, int]:
    """m, t and p from an encoded argon2 hash."""
    found = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", encoded)
    assert found, encoded
    return dict(zip("mtp", map(int, found.groups()), strict=True))


async def test_passwords_are_argon2id_at_owasp_strength(engine: AsyncEngine, staff_id: int) -> None:
    async with engine.connect() as conn:
        stored = (await conn.execute(select(users.c.password_hash).where(users.c.id == staff_id))).scalar_one()
    parameters = argon2_parameters(stored)
    assert parameters["m"] >= 19456
    assert parameters["t"] >= 2
    assert STAFF_PASSWORD not in stored


async def test_weaker_hash_is_upgraded_on_sign_in(client: Client, engine: AsyncEngine, staff_id: int) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(STAFF_PASSWORD)
    async with engine.begin() as conn:
        await conn.execute(update(users).where(users.c.id == staff_id).values(password_hash=weak))
    assert (await sign_in(client, STAFF)).status_code == 303
    async with engine.connect() as conn:
        stored = (await conn.execute(select(users.c.password_hash).where(users.c.id == staff_id))).scalar_one()
    assert stored != weak
    parameters = argon2_parameters(stored)
    assert parameters["m"] >= 19456
    assert parameters["t"] >= 2
    # And the upgraded hash still lets them in.
    await sign_out(client)
    assert (await sign_in(client, STAFF)).status_code == 303


# --- the header -----------------------------------------------------------------------------------


async def test_residents_see_no_staff_menu(client: Client, staff_id: int) -> None:
    assert "govuk-service-navigation" not in (await client.get("/")).text
    await sign_in(client, STAFF)
    account = await client.get("/account")
    menu = re.search(r'<nav aria-label="Staff menu".*?</nav>', account.text, re.S).group(0)
    assert re.findall(r'href="([^"]+)"', menu) == ["/staff", "/staff/members", "/staff/crime", "/account"]
    assert 'aria-current="page"' in menu
    assert 'action="/sign-out"' in menu and 'name="_csrf_token"' in menu
    # Still there on pages for residents, so staff can always sign out.
    assert 'action="/sign-out"' in (await client.get("/")).text
