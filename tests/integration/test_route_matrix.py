"""Every route of the app against every kind of caller, from one table.

Each row names a route as the app registers it (method and path template) and the status each caller
must get; the path asked for fills the template with real values (an existing survey, account, token).
A route the table does not name fails the test, so a new route cannot ship without deciding who may
use it.

The callers:
- anonymous: no session, no token (a CSRF token from the sign-in page on its form posts);
- analyst, staff, admin: signed in through the form; on /api/ they send their own API token instead,
  as the API takes no cookies;
- deactivated: signed in (and given a token) before an admin deactivated them: treated as anonymous;
- revoked: a script sending a revoked API token on every request, with no session and no CSRF token.

Session callers post every form with a valid CSRF token, so a status says who may, not whether the
form was forged. Posts come after every GET, and signing out comes last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.auth.services import list_tokens
from talking.db.models import api_tokens, surveys, users
from talking.members.unsubscribe import UNSUBSCRIBE_PURPOSE
from talking.packs.service import make_pack
from talking.questionnaires.schemas import QuestionCreate
from talking.reports.service import DEFAULT_SETTINGS
from talking.signed_tokens import sign_id

from ..conftest import make_member, make_token, make_user, publish_survey
from .staff_helpers import Client, csrf_from, sign_in

CALLERS = ("anonymous", "analyst", "staff", "admin", "deactivated", "revoked")
SAFE_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Row:
    """Each caller's status (in the order of CALLERS), a body to send, and which survey to ask about."""

    statuses: tuple[int, ...]
    form: dict[str, str] | None = None
    json: Any = None
    survey: str = "open"  # or "closed"


def row(*statuses: int, form: dict[str, str] | None = None, json: Any = None, survey: str = "open") -> Row:
    assert len(statuses) == len(CALLERS)
    return Row(statuses, form, json, survey)


# The real values each path parameter takes ({survey_id} is the open survey unless a row says otherwise).
PATH_VALUES = {
    "token": sign_id("test-secret-key", UNSUBSCRIBE_PURPOSE, 1),  # the app fixture's key; no such member
    "key": "safe",
    "page": "check",
    "file_path": "talking.css",
    "path": "swagger",
    "code": "E07000123",
}
DEFINITION = {"title": "Changed", "issues": ["speeding", "burglary"]}
S = "/surveys/{survey_id:int}"
# Where the app does not yet do what it should: (method, template, caller) -> (status it gives, why).
# The table says what must happen; remove an entry here once the app is fixed.
KNOWN_GAPS: dict[tuple[str, str, str], tuple[int, str]] = {}
# fmt: off
ROUTES: dict[tuple[str, str], Row] = {
    #                                                          anon analyst staff admin gone revoked
    # --- public: residents, and anyone else
    ("GET", "/"):                                          row(200, 200, 200, 200, 200, 200),
    ("GET", "/healthz"):                                   row(200, 200, 200, 200, 200, 200),
    ("GET", "/accessibility"):                             row(200, 200, 200, 200, 200, 200),
    ("GET", "/privacy"):                                   row(200, 200, 200, 200, 200, 200),
    ("GET", "/assets/{file_path:path}"):                   row(200, 200, 200, 200, 200, 200),
    ("HEAD", "/assets/{file_path:path}"):                  row(200, 200, 200, 200, 200, 200),
    ("GET", "/schema"):                                    row(200, 200, 200, 200, 200, 200),
    ("GET", "/schema/openapi.json"):                       row(200, 200, 200, 200, 200, 200),
    ("GET", "/schema/{path:str}"):                         row(404, 404, 404, 404, 404, 404),
    ("GET", "/api/v1/districts"):                          row(200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/issues"):                             row(200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1" + S):                                row(200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1" + S + "/responses"):                row(422, 422, 422, 422, 422, 422, json={}),
    # --- the resident journey, alike for all (with no answers yet, later pages send you back)
    ("GET", S):                                            row(200, 200, 200, 200, 200, 200),
    ("GET", S + "/district"):                              row(200, 200, 200, 200, 200, 200),
    ("POST", S + "/district"):                             row(422, 422, 422, 422, 422, 403),
    ("GET", S + "/issues"):                                row(303, 303, 303, 303, 303, 303),
    ("POST", S + "/issues"):                               row(303, 303, 303, 303, 303, 403),
    ("GET", S + "/order"):                                 row(303, 303, 303, 303, 303, 303),
    ("POST", S + "/order"):                                row(303, 303, 303, 303, 303, 403),
    ("GET", S + "/questions/{key:str}"):                   row(303, 303, 303, 303, 303, 303),
    ("POST", S + "/questions/{key:str}"):                  row(303, 303, 303, 303, 303, 403),
    ("GET", S + "/comment"):                               row(303, 303, 303, 303, 303, 303),
    ("POST", S + "/comment"):                              row(303, 303, 303, 303, 303, 403),
    ("GET", S + "/about-you"):                             row(303, 303, 303, 303, 303, 303),
    ("POST", S + "/about-you"):                            row(303, 303, 303, 303, 303, 403),
    ("GET", S + "/check"):                                 row(303, 303, 303, 303, 303, 303),
    ("POST", S + "/check"):                                row(303, 303, 303, 303, 303, 403),
    ("GET", S + "/done"):                                  row(303, 303, 303, 303, 303, 303),
    # --- signing in, and your own account (the token to revoke is a spare one of staff's)
    ("GET", "/sign-in"):                                   row(200, 200, 200, 200, 200, 200),
    ("POST", "/sign-in"):                                  row(422, 422, 422, 422, 422, 403),
    ("GET", "/account"):                                   row(303, 200, 200, 200, 303, 303),
    ("POST", "/account/tokens"):                           row(303, 303, 303, 303, 303, 403, form={"name": "matrix"}),
    ("GET", "/account/tokens/new"):                        row(303, 303, 303, 303, 303, 303),
    ("POST", "/account/tokens/{token_id:int}/revoke"):     row(303, 404, 303, 404, 303, 403),
    # --- the staff JSON API (tokens only)
    ("GET", "/api/v1/surveys"):                            row(401, 403, 200, 200, 401, 401),
    ("POST", "/api/v1/surveys"):                           row(401, 403, 422, 422, 401, 401, json={}),
    ("PUT", "/api/v1" + S + "/definition"):                row(401, 403, 409, 409, 401, 401, json=DEFINITION),
    ("POST", "/api/v1" + S + "/publish"):                  row(401, 403, 409, 409, 401, 401),
    ("POST", "/api/v1" + S + "/close"):                    row(401, 403, 409, 409, 401, 401, survey="closed"),
    ("POST", "/api/v1" + S + "/waves"):                    row(401, 403, 201, 201, 401, 401),
    ("GET", "/api/v1" + S + "/counts"):                    row(401, 200, 200, 200, 401, 401),
    ("GET", "/api/v1" + S + "/report"):                    row(401, 200, 200, 200, 401, 401),
    ("GET", "/api/v1" + S + "/responses.csv"):             row(401, 200, 200, 200, 401, 401),
    # --- Strategic Assessment packs: staff make them, analysts read them; no route changes one
    ("POST", "/api/v1" + S + "/packs"):                    row(401, 403, 201, 201, 401, 401),
    ("GET", "/api/v1" + S + "/packs"):                     row(401, 200, 200, 200, 401, 401),
    ("GET", "/api/v1/packs/{pack_id:int}"):                row(401, 200, 200, 200, 401, 401),
    ("GET", "/staff" + S + "/packs"):                      row(303, 200, 200, 200, 303, 303),
    ("POST", "/staff" + S + "/packs"):                     row(303, 403, 303, 303, 303, 403),
    ("GET", "/staff/packs/{pack_id:int}/json"):            row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff/packs/{pack_id:int}/html"):            row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff/packs/{pack_id:int}/pdf"):             row(303, 200, 200, 200, 303, 303),
    # --- the staff pages: analysts read; staff change, and published surveys refuse changes (409)
    ("GET", "/staff"):                                     row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff/surveys/new"):                         row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff/surveys/new"):                        row(303, 403, 422, 422, 303, 403),
    ("GET", "/staff" + S):                                 row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/edit"):                       row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff" + S + "/edit"):                      row(303, 403, 409, 409, 303, 403),
    ("GET", "/staff" + S + "/questions"):                  row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff" + S + "/questions"):                 row(303, 403, 409, 409, 303, 403),
    ("POST", "/staff" + S + "/questions/{key:str}/move"):  row(303, 403, 409, 409, 303, 403, form={"direction": "up"}),
    ("POST", "/staff" + S + "/questions/{key:str}/remove"): row(303, 403, 409, 409, 303, 403),
    ("POST", "/staff" + S + "/publish"):                   row(303, 403, 409, 409, 303, 403),
    ("POST", "/staff" + S + "/close"):                     row(303, 403, 409, 409, 303, 403, survey="closed"),
    ("POST", "/staff" + S + "/dates"):                     row(303, 403, 409, 409, 303, 403, survey="closed"),
    ("POST", "/staff" + S + "/waves"):                     row(303, 403, 303, 303, 303, 403),
    ("GET", "/staff" + S + "/preview"):                    row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/preview/{page:str}"):         row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/preview/questions/{key:str}"): row(303, 200, 200, 200, 303, 303),
    # --- the analyst report pages, and the report's files for people signed in (the API takes tokens only)
    ("GET", "/staff" + S + "/report"):                     row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/report/districts/{code:str}"): row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/report/groups"):              row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/report/themes"):              row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/report/crime"):               row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/report.csv"):                 row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/report.xlsx"):                row(303, 200, 200, 200, 303, 303),
    ("GET", "/staff" + S + "/report.json"):                row(303, 200, 200, 200, 303, 303),
    # --- invitations to members surveys (the open survey is for anyone with the link: 409)
    ("POST", "/api/v1" + S + "/invitations"):              row(401, 403, 409, 409, 401, 401),
    ("POST", "/api/v1" + S + "/reminders"):                row(401, 403, 409, 409, 401, 401),
    ("GET", "/staff" + S + "/invitations"):                row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff" + S + "/invitations"):               row(303, 403, 409, 409, 303, 403),
    ("GET", "/staff" + S + "/reminders"):                  row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff" + S + "/reminders"):                 row(303, 403, 409, 409, 303, 403),
    # --- an invitation's link (the path's token is not an invitation's: the page says the link does not work)
    ("GET", "/i/{token:str}"):                             row(404, 404, 404, 404, 404, 404),
    # --- the resident panel: staff import members (no file sent here: a clear 422)
    ("GET", "/staff/members"):                             row(303, 403, 200, 200, 303, 303),
    ("GET", "/staff/members/{member_id:int}"):             row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff/members/{member_id:int}/erase"):      row(303, 403, 303, 303, 303, 403),
    ("GET", "/staff/members/import"):                      row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff/members/import"):                     row(303, 403, 422, 422, 303, 403),
    ("GET", "/staff/members/import/report"):               row(303, 403, 303, 303, 303, 303),
    # --- recorded crime: analysts and staff upload police.uk files (no file sent here: a clear 422)
    ("GET", "/staff/crime"):                               row(303, 200, 200, 200, 303, 303),
    ("POST", "/staff/crime"):                              row(303, 422, 422, 422, 303, 403),
    ("GET", "/staff/crime/report"):                        row(303, 303, 303, 303, 303, 303),
    # --- one-click unsubscribe from a member's email: anyone holding the signed link, no session or CSRF
    ("GET", "/members/unsubscribe/{token:str}"):           row(200, 200, 200, 200, 200, 200),
    ("POST", "/members/unsubscribe/{token:str}"):          row(200, 200, 200, 200, 200, 200),
    # --- public results: none published for the open survey (it has no answers), so 404 to all
    ("GET", "/results"):                                   row(200, 200, 200, 200, 200, 200),
    ("GET", "/results/{survey_id:int}"):                   row(404, 404, 404, 404, 404, 404),
    ("GET", "/results/{survey_id:int}/{code:str}"):        row(404, 404, 404, 404, 404, 404),
    ("GET", "/results/{survey_id:int}/feed.atom"):         row(404, 404, 404, 404, 404, 404),
    ("GET", "/results/{survey_id:int}/{code:str}/feed.atom"): row(404, 404, 404, 404, 404, 404),
    ("GET", "/results/{survey_id:int}/data.csv"):          row(404, 404, 404, 404, 404, 404),
    ("GET", "/results/{survey_id:int}/data.json"):         row(404, 404, 404, 404, 404, 404),
    # --- publishing results: staff only; with no answers there is nothing to publish (409) or withdraw (404)
    ("POST", "/api/v1" + S + "/results"):                  row(401, 403, 409, 409, 401, 401),
    ("DELETE", "/api/v1" + S + "/results"):                row(401, 403, 404, 404, 401, 401),
    ("GET", "/staff" + S + "/results"):                    row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff" + S + "/results/publish"):           row(303, 403, 409, 409, 303, 403),
    ("POST", "/staff" + S + "/results/withdraw"):          row(303, 403, 409, 409, 303, 403),
    ("POST", "/staff" + S + "/results/updates"):           row(303, 403, 422, 422, 303, 403),
    ("POST", "/staff" + S + "/results/updates/remove"):    row(303, 403, 422, 422, 303, 403),
    ("GET", "/staff" + S + "/results/quotes"):             row(303, 403, 200, 200, 303, 303),
    ("POST", "/staff" + S + "/results/quotes"):            row(303, 403, 422, 422, 303, 403),
    ("POST", "/staff" + S + "/results/quotes/remove"):     row(303, 403, 422, 422, 303, 403),
    # --- joining the panel, alike for all (with no answers yet, later pages send you back to the email page)
    ("GET", "/join"):                                      row(200, 200, 200, 200, 200, 200),
    ("GET", "/join/email"):                                row(200, 200, 200, 200, 200, 200),
    ("POST", "/join/email"):                               row(422, 422, 422, 422, 422, 403),
    ("GET", "/join/where-you-live"):                       row(303, 303, 303, 303, 303, 303),
    ("POST", "/join/where-you-live"):                      row(303, 303, 303, 303, 303, 403),
    ("GET", "/join/about-you"):                            row(303, 303, 303, 303, 303, 303),
    ("POST", "/join/about-you"):                           row(303, 303, 303, 303, 303, 403),
    ("GET", "/join/consent"):                              row(303, 303, 303, 303, 303, 303),
    ("POST", "/join/consent"):                             row(303, 303, 303, 303, 303, 403),
    ("GET", "/join/check"):                                row(303, 303, 303, 303, 303, 303),
    ("POST", "/join/check"):                               row(303, 303, 303, 303, 303, 403),
    ("GET", "/join/check-your-email"):                     row(303, 303, 303, 303, 303, 303),
    # the token here is an unsubscribe token: not a confirmation link, nor an invitation's
    ("GET", "/join/confirm/{token:str}"):                  row(404, 404, 404, 404, 404, 404),
    ("POST", "/join/confirm/{token:str}"):                 row(404, 404, 404, 404, 404, 403),
    ("GET", "/i/{token:str}/details"):                     row(404, 404, 404, 404, 404, 404),
    # --- a member's own pages: the signed ?token= is the key (none here: "this link does not work")
    ("GET", "/members/you"):                               row(404, 404, 404, 404, 404, 404),
    ("GET", "/members/you/where-you-live"):                row(404, 404, 404, 404, 404, 404),
    ("POST", "/members/you/where-you-live"):               row(404, 404, 404, 404, 404, 403),
    ("GET", "/members/you/about-you"):                     row(404, 404, 404, 404, 404, 404),
    ("POST", "/members/you/about-you"):                    row(404, 404, 404, 404, 404, 403),
    ("GET", "/members/you/results-emails"):                row(404, 404, 404, 404, 404, 404),
    ("POST", "/members/you/results-emails"):               row(404, 404, 404, 404, 404, 403),
    ("POST", "/members/you/unsubscribe"):                  row(404, 404, 404, 404, 404, 403),
    ("GET", "/members/you/delete"):                        row(404, 404, 404, 404, 404, 404),
    ("POST", "/members/you/delete"):                       row(404, 404, 404, 404, 404, 403),
    ("GET", "/members/deleted"):                           row(200, 200, 200, 200, 200, 200),
    # --- admins only (the account changed is someone else's, given the role and state it has)
    ("GET", "/admin/users"):                               row(303, 403, 403, 200, 303, 303),
    ("GET", "/admin/users/new"):                           row(303, 403, 403, 200, 303, 303),
    ("POST", "/admin/users/new"):                          row(303, 403, 403, 422, 303, 403),
    ("GET", "/admin/users/{user_id:int}"):                 row(303, 403, 403, 200, 303, 303),
    ("POST", "/admin/users/{user_id:int}/role"):           row(303, 403, 403, 303, 303, 403, form={"role": "staff"}),
    ("POST", "/admin/users/{user_id:int}/active"):         row(303, 403, 403, 303, 303, 403, form={"active": "true"}),
    ("GET", "/admin/audit"):                               row(303, 403, 403, 200, 303, 303),
    # --- last of all, as it ends the sessions
    ("POST", "/sign-out"):                                 row(303, 303, 303, 303, 303, 403),
}
# fmt: on


def real_path(template: str, the_row: Row, ids: dict[str, int]) -> str:
    """The template with real values: "/surveys/{survey_id:int}/questions/{key:str}" -> "/surveys/1/questions/safe"."""
    values = {
        **PATH_VALUES,
        "survey_id": str(ids[the_row.survey]),
        "user_id": str(ids["user"]),
        "token_id": str(ids["token"]),
        "member_id": str(ids["member"]),
        "pack_id": str(ids["pack"]),
    }
    return re.sub(r"\{(\w+):\w+\}", lambda found: values[found.group(1)], template)


@dataclass
class Caller:
    """One kind of caller: its cookies, its API token, and the CSRF token its forms carry."""

    name: str
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    token: str | None = None
    token_everywhere: bool = False
    csrf: str | None = None


def registered_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path template) for every handler of every route (Litestar's automatic OPTIONS aside)."""
    return {
        (method, route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        for method in handler.http_methods
        if method != "OPTIONS"
    }


async def as_caller(client: Client, caller: Caller, method: str, path: str, the_row: Row) -> httpx.Response:
    """One request as this caller, keeping its cookies apart from everyone else's."""
    headers = {}
    api = path.startswith("/api/")
    if caller.token and (api or caller.token_everywhere):
        headers["Authorization"] = f"Bearer {caller.token}"
    data = None
    if method not in SAFE_METHODS and not api:
        data = {**(the_row.form or {}), **({"_csrf_token": caller.csrf} if caller.csrf else {})}
    client.cookies = caller.cookies
    try:
        return await client.request(method, path, headers=headers, data=data, json=the_row.json, follow_redirects=False)
    finally:
        caller.cookies = client.cookies


async def signed_in(client: Client, name: str, email: str) -> Caller:
    """A caller with its own fresh session, signed in through the form."""
    client.cookies = httpx.Cookies()
    assert (await sign_in(client, email)).status_code == 303
    return Caller(name, cookies=client.cookies)


async def test_every_route_against_every_caller(app: Litestar, client: Client, engine: AsyncEngine) -> None:
    missing = registered_routes(app) - set(ROUTES)
    assert not missing, f"routes missing from the matrix (add a row for each): {sorted(missing)}"
    stale = set(ROUTES) - registered_routes(app)
    assert not stale, f"rows for routes the app no longer has: {sorted(stale)}"

    ids = {
        "open": await publish_survey(
            engine, questions=(QuestionCreate(kind="agreement", prompt="I feel safe", key="safe"),)
        ),
        "closed": await publish_survey(engine, title="Closed survey"),
        "user": await make_user(engine, "someone@lancashire.test", "staff"),
        "member": await make_member(engine),
    }
    ids["pack"] = (await make_pack(engine, ids["open"], DEFAULT_SETTINGS, made_by="matrix@lancashire.test"))[0]
    people = {
        name: await make_user(engine, f"{name}@lancashire.test", role)
        for name, role in (("analyst", "analyst"), ("staff", "staff"), ("admin", "admin"), ("deactivated", "staff"))
    }
    callers = {"anonymous": Caller("anonymous")}
    for name, user_id in people.items():
        callers[name] = await signed_in(client, name, f"{name}@lancashire.test")
        callers[name].token = await make_token(engine, user_id)
    ids["token"] = await _spare_token(engine, people["staff"])
    revoked_owner = await make_user(engine, "script@lancashire.test", "staff")
    callers["revoked"] = Caller("revoked", token=await make_token(engine, revoked_owner), token_everywhere=True)
    # Behind the app's back, as if an admin and the script's owner had acted since.
    async with engine.begin() as conn:
        now = datetime.now(UTC)
        await conn.execute(update(surveys).where(surveys.c.id == ids["closed"]).values(status="closed", closed_at=now))
        await conn.execute(update(api_tokens).where(api_tokens.c.user_id == revoked_owner).values(revoked_at=now))
        await conn.execute(update(users).where(users.c.id == people["deactivated"]).values(is_active=False))
    for caller in callers.values():
        if caller.name != "revoked":
            shown = await as_caller(client, caller, "GET", "/sign-in", ROUTES[("GET", "/sign-in")])
            caller.csrf = csrf_from(shown.text)

    # Reads first, then changes in the table's order; signing out is the table's last row.
    ordered = sorted(ROUTES.items(), key=lambda item: item[0][0] not in SAFE_METHODS)
    assert ordered[-1][0] == ("POST", "/sign-out")
    wrong = []
    for (method, template), the_row in ordered:
        path = real_path(template, the_row, ids)
        for caller_name, expected in zip(CALLERS, the_row.statuses, strict=True):
            response = await as_caller(client, callers[caller_name], method, path, the_row)
            got = response.status_code
            gap = KNOWN_GAPS.get((method, template, caller_name))
            if gap and got == expected:
                wrong.append(f"{method} {path} as {caller_name}: fixed, so remove it from KNOWN_GAPS")
            elif got != (gap[0] if gap else expected):
                wrong.append(f"{method} {path} as {caller_name}: {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


async def _spare_token(engine: AsyncEngine, user_id: int) -> int:
    """The id of another token of this user's, for the revoke route."""
    await make_token(engine, user_id)
    async with engine.connect() as conn:
        return max(t.id for t in await list_tokens(conn, user_id))
