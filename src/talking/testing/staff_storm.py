"""Many staff actions at once against a live server: sign-ins, wrong passwords, publishes, closes,
exports and token uses, all sent together; for tests/integration/test_concurrency.py and
benchmarks/concurrency.py.

``prepare`` makes the accounts, tokens and surveys directly in the database; ``storm`` sends every
action at the same moment (each sign-in from a browser of its own, through the real form) and
counts the answers by action and status; ``stored`` reads back what the database recorded.
It sends with httpx (the ``dev`` extras), as the tests do.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from talking.auth.services import create_token, create_user
from talking.db.engine import create_engine
from talking.db.models import api_tokens, audit_events, sign_in_throttle
from talking.questionnaires.schemas import SurveyCreate
from talking.questionnaires.services import create_survey
from talking.testing.surveys import DEMO_ISSUES, publish_survey

PASSWORD = "correct horse battery staple"  # noqa: S105 (the harness's accounts only)
TARGET = "target@lancashire.test"  # the account the wrong passwords are aimed at
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass
class Cast:
    """What ``prepare`` made: who signs in, the tokens, and the surveys to act on."""

    emails: list[str]
    tokens: list[str]
    drafts: list[int]
    open_surveys: list[int]


@dataclass
class Answers:
    """Statuses by action ("sign-in", "wrong password", "publish"...), and how long the storm took."""

    by_action: dict[str, Counter[int]] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, action: str, status: int) -> None:
        """One answer to one action."""
        self.by_action.setdefault(action, Counter())[status] += 1

    def server_errors(self) -> int:
        """Answers of 500 and above (503 included: every action here must wait its turn, not give up)."""
        return sum(n for statuses in self.by_action.values() for status, n in statuses.items() if status >= 500)

    def lines(self) -> list[str]:
        """One line per action: its statuses and how many of each."""
        return [
            f"  {action:<16} " + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
            for action, statuses in self.by_action.items()
        ]


async def prepare(database_url: str, *, staff: int, tokens: int, drafts: int, open_surveys: int) -> Cast:
    """Accounts (``staff`` to sign in, plus TARGET), an admin's tokens and the surveys, in the database."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            emails = [f"staff{n}@lancashire.test" for n in range(staff)]
            for email in [*emails, TARGET]:
                await create_user(conn, email, "staff", PASSWORD)
            admin = await create_user(conn, "storm-admin@lancashire.test", "admin", PASSWORD)
            made = [(await create_token(conn, admin.id, f"storm {n}"))[0] for n in range(tokens)]
            definition = SurveyCreate(title="Storm draft", issues=DEMO_ISSUES)
            draft_ids = [await create_survey(conn, definition) for _ in range(drafts)]
            open_ids = [await publish_survey(conn, title="Storm survey") for _ in range(open_surveys)]
        return Cast(emails, made, draft_ids, open_ids)
    finally:
        await engine.dispose()


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """Sign in through the real form, as a browser does: the form (and its CSRF cookie), then the POST."""
    form = await client.get("/sign-in")
    found = _CSRF.search(form.text)
    if form.status_code != 200 or found is None:
        return form
    return await client.post(
        "/sign-in", data={"_csrf_token": found.group(1), "email": email, "password": password}, follow_redirects=False
    )


async def storm(url: str, cast: Cast, *, wrong_passwords: int, exports: int) -> Answers:
    """Send every action at once; the statuses they got, by action."""
    answers = Answers()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(120.0)
    api = httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout)
    bearer = {"Authorization": f"Bearer {cast.tokens[0]}"}

    async def browser(action: str, email: str, password: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
            answers.count(action, (await sign_in(client, email, password)).status_code)

    async def call(action: str, method: str, path: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else bearer
        answers.count(action, (await api.request(method, path, headers=headers)).status_code)

    jobs = [browser("sign-in", email, PASSWORD) for email in cast.emails]
    jobs += [browser("wrong password", TARGET, f"wrong guess {n}") for n in range(wrong_passwords)]
    jobs += [call("publish", "POST", f"/api/v1/surveys/{survey}/publish") for survey in cast.drafts]
    jobs += [call("close", "POST", f"/api/v1/surveys/{survey}/close") for survey in cast.open_surveys]
    exported = cast.open_surveys or cast.drafts
    jobs += [
        call("export", "GET", f"/api/v1/surveys/{exported[n % len(exported)]}/responses.csv") for n in range(exports)
    ]
    jobs += [call("token use", "GET", "/api/v1/surveys", token) for token in cast.tokens]
    started = time.perf_counter()
    try:
        await asyncio.gather(*jobs)
    finally:
        answers.seconds = time.perf_counter() - started
        await api.aclose()
    return answers


async def stored(database_url: str) -> dict[str, int]:
    """What the database recorded: audit events by action, the TARGET's throttle count, tokens touched."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(audit_events.c.action, func.count()).group_by(audit_events.c.action))
            counts = {action: n for action, n in rows}
            failures = await conn.scalar(select(sign_in_throttle.c.failures).where(sign_in_throttle.c.email == TARGET))
            touched = await conn.scalar(select(func.count()).where(api_tokens.c.last_used_at.is_not(None)))
        return {**counts, "target throttle failures": failures or 0, "tokens touched": touched or 0}
    finally:
        await engine.dispose()
