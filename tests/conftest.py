"""Fixtures on real parts: a migrated SQLite file per test, a PostgreSQL database per run, the real app.

No tests/__init__.py on purpose: govuk-frontend-jinja's wheel installs a stray top-level `tests`
package, so nothing here is imported by that name (pytest runs with --import-mode=importlib).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db import migrate
from talking.db.engine import create_engine
from talking.db.models import response_picks, responses
from talking.questionnaires.schemas import SurveyCreate
from talking.questionnaires.services import create_survey, publish
from talking.sessions import sessions_path
from talking.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get("TALKING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"

DEMO_ISSUES = (
    "anti-social-behaviour",
    "road-safety",
    "drug-dealing-and-taking",
    "burglary",
    "criminal-damage",
    "alcohol",
    "fraud",
    "violent-crime",
)


# --- databases ---------------------------------------------------------------------------------


def migrate_up(url: str) -> None:
    """Apply migrations from a thread of their own: Alembic's env runs asyncio.run, which cannot start
    inside a running event loop (an async test's, or Playwright's sync API's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(migrate.upgrade, url).result()


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
    """Create a PostgreSQL database, migrate it, and drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        migrate_up(url)
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole run; tests empty it before use."""
    with postgres_database() as url:
        yield url


def empty_postgres(url: str) -> None:
    """Remove every survey, response and session, keeping the reference data."""
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE response_answers, response_picks, responses, survey_questions, survey_districts, survey_issues,"
            " surveys, audit_events, api_tokens, sign_in_throttle, users, web_sessions,"
            " tally_respondents, tally_positions, tally_pairs RESTART IDENTITY CASCADE"
        )


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
def settings(database_url: str) -> Settings:
    """Settings for a test app."""
    return Settings(database_url=database_url, secret_key="test-secret-key")


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


async def publish_survey(engine: AsyncEngine, **overrides: object) -> int:
    """Create and publish a survey offering the demo issues (open now unless overridden); returns its id."""
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "title": "Lancashire Talking test survey",
        "introduction": "Tell us what matters where you live.",
        "issues": DEMO_ISSUES,
        "max_picks": 5,
        "opens_at": now - timedelta(days=1),
        "closes_at": now + timedelta(days=30),
    }
    fields.update(overrides)
    async with engine.begin() as conn:
        survey_id = await create_survey(conn, SurveyCreate(**fields))  # type: ignore[arg-type]
        await publish(conn, survey_id)
    return survey_id


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


# --- a real server in another process ------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """A `talking serve` process and where to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the server and its worker processes together (granian runs workers as children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


@contextmanager
def live_server(database_url: str, log_dir: Path, workers: int = 1) -> Iterator[LiveServer]:
    """Run `talking serve` on a free port until the block ends (killed hard if it will not stop)."""
    port = free_port()
    env = {
        **os.environ,
        "TALKING_DATABASE_URL": database_url,
        "TALKING_SECRET_KEY": "live-server-secret",
        "TALKING_HOST": "127.0.0.1",
        "TALKING_PORT": str(port),
    }
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "talking", "serve", "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so stopping it stops its workers too (none left orphaned).
            start_new_session=True,
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer /healthz within 30 s:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        server.kill(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill(signal.SIGKILL)
            process.wait()
        # Workers that outlived the main process (it was killed first) must not outlive the test.
        server.kill(signal.SIGKILL)


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
