"""Fixtures on real parts: a migrated SQLite file per test, a PostgreSQL database per run, the real app.

No tests/__init__.py on purpose: govuk-frontend-jinja's wheel installs a stray top-level `tests`
package, so nothing here is imported by that name (pytest runs with --import-mode=importlib).

The real server, the fresh databases and the published survey come from talking.testing, which the
benchmarks use too; tests may import them from here.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db.engine import create_engine
from talking.db.models import response_picks, responses
from talking.sessions import sessions_path
from talking.settings import Settings
from talking.testing import databases
from talking.testing.databases import migrate_up, plain_postgres_url
from talking.testing.server import live_server as live_server  # tests import it from here
from talking.testing.surveys import DEMO_ISSUES as DEMO_ISSUES  # tests import it from here
from talking.testing.surveys import publish_survey

POSTGRES_ADMIN_URL = os.environ.get("TALKING_TEST_POSTGRES_URL", databases.DEFAULT_POSTGRES_ADMIN_URL)
IN_CI = os.environ.get("CI") == "true"


# --- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate_up(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated SQLite file for this test."""
    path = tmp_path / "talking.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@contextmanager
def postgres_database(prefix: str = "talking_test") -> Iterator[str]:
    """Create a PostgreSQL database, migrate it, and drop it afterwards; skip the test if PostgreSQL
    is not reachable (outside CI, where it must be)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(databases.postgres_database(prefix, POSTGRES_ADMIN_URL))
        except psycopg.OperationalError as exc:
            if IN_CI:
                raise
            pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
        yield url


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole run; tests empty it before use."""
    with postgres_database() as url:
        yield url


def empty_postgres(url: str) -> None:
    """Remove every survey, response and session, keeping the reference data."""
    with psycopg.connect(plain_postgres_url(url), autocommit=True) as conn:
        conn.execute(
            "TRUNCATE response_answers, response_picks, responses, survey_questions, survey_districts, survey_issues,"
            " surveys, audit_events, api_tokens, sign_in_throttle, users, web_sessions,"
            " tally_respondents, tally_positions, tally_pairs, members, rate_limit_counts RESTART IDENTITY CASCADE"
        )
        # The mail outbox goes with members (CASCADE); its sender's one lease row is set free.
        conn.execute("UPDATE mail_sender_lease SET holder = NULL, expires_at = '2000-01-01T00:00:00+00:00'")


@pytest.fixture
def postgres_url(postgres_session_url: str) -> str:
    """The run's PostgreSQL database, emptied for this test."""
    empty_postgres(postgres_session_url)
    return postgres_session_url


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The database the app fixture uses: SQLite unless a module overrides this fixture."""
    return sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def each_database_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


# --- the app -----------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for a test app: rate limits on, as by default, unless the test is marked ``load``; its
    emails, if any, as .eml files in the test's own directory."""
    load = request.node.get_closest_marker("load") is not None
    return Settings(
        database_url=database_url, secret_key="test-secret-key", rate_limits=not load, mail_dir=tmp_path / "mail"
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    """The real app on this test's database."""
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client speaking to the real app in-process (lifespan included)."""
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own engine on the app's database, for setting up and checking behind the app's back.

    The app runs in the test client's event loop; an asyncpg pool cannot be shared across loops.
    """
    test_engine = create_engine(database_url)
    yield test_engine
    await test_engine.dispose()


def sessions_file(engine: AsyncEngine) -> Path | None:
    """The sessions file beside an SQLite database (None on PostgreSQL, which keeps them inside)."""
    return sessions_path(engine.url.database) if engine.dialect.name == "sqlite" else None  # type: ignore[arg-type]


@contextmanager
def another_worker_writing(database: Path | str) -> Iterator[None]:
    """Hold an SQLite file's write lock, as another worker in the middle of a write would."""
    other_worker = sqlite3.connect(database, isolation_level=None)
    other_worker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other_worker.execute("COMMIT")
        other_worker.close()


async def count_stored(engine: AsyncEngine) -> tuple[int, int]:
    """How many responses and picks the database holds."""
    async with engine.connect() as conn:
        n_responses = (await conn.execute(select(func.count()).select_from(responses))).scalar_one()
        n_picks = (await conn.execute(select(func.count()).select_from(response_picks))).scalar_one()
    return n_responses, n_picks


@pytest.fixture
async def open_survey(engine: AsyncEngine) -> int:
    """The id of a published survey (five picks from eight issues) open now."""
    return await publish_survey(engine)


# --- staff ---------------------------------------------------------------------------------------

STAFF_PASSWORD = "correct horse battery staple"


async def make_user(engine: AsyncEngine, email: str, role: str, *, active: bool = True) -> int:
    """Create a staff account with STAFF_PASSWORD; returns its id."""
    from sqlalchemy import update

    from talking.auth.services import create_user
    from talking.db.models import users

    async with engine.begin() as conn:
        user = await create_user(conn, email, role, STAFF_PASSWORD)
        if not active:
            await conn.execute(update(users).where(users.c.id == user.id).values(is_active=False))
    return user.id


async def make_token(engine: AsyncEngine, user_id: int) -> str:
    """A live API token for the user."""
    from talking.auth.services import create_token

    async with engine.begin() as conn:
        token, _record = await create_token(conn, user_id, "tests")
    return token


async def make_member(engine: AsyncEngine, email: str = "resident@example.org", district: str = "Preston") -> int:
    """A member of the resident panel, imported as the messaging service's export brings them; returns its id."""
    from sqlalchemy import select

    from talking.db.models import members
    from talking.members.member_file import read_text_file
    from talking.members.services import import_members

    _count, rows = read_text_file(f"email,district\n{email},{district}\n".encode())
    async with engine.begin() as conn:
        await import_members(conn, rows)
        return (await conn.execute(select(members.c.id).where(members.c.email_key == email.lower()))).scalar_one()


def talking(
    *args: str, database_url: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m talking ARGS` against a database, as an operator would (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "talking", *args],
        env={**os.environ, **(env or {}), "TALKING_DATABASE_URL": database_url},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
