"""`talking db backup` while a real server takes submissions, then `talking db restore` into an empty
database: every response acknowledged before the backup began is there, and the copy is consistent
(its tallies are what a recount of its responses gives). Also the refusals, each with its reason."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from talking.testing.databases import Database
from talking.testing.surveys import DEMO_ISSUES, publish_survey_at

from ..conftest import POSTGRES_ADMIN_URL, live_server, talking
from .tally_check import tallies_and_recount

SENDERS = 4


@contextmanager
def empty_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: a file not yet made, or a PostgreSQL database just created."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"talking_restore_{os.getpid()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Load:
    """Threads submitting answers to a live server, noting each acknowledged reference and when."""

    def __init__(self, base_url: str, survey_id: int) -> None:
        self.url = f"{base_url}/api/v1/surveys/{survey_id}/responses"
        self.acknowledged: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.send, args=(n,)) for n in range(SENDERS)]

    def send(self, n: int) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                picks = [DEMO_ISSUES[(n + i) % len(DEMO_ISSUES)] for i in range(3)]
                answer = {"district": "E07000123", "picks": picks, "age_band": "45-54", "comment": "Cars race"}
                response = client.post(self.url, json=answer)
                if response.status_code == 201:
                    self.acknowledged.append((time.monotonic(), response.json()["reference"]))
                else:
                    self.failures.append(f"{response.status_code} {response.text}")

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def stored_references(database_url: str) -> set[str]:
    """Every response's reference in a database."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    path = Path(database_url.split(":///", 1)[1]) if kind == "sqlite" else None
    return {row[0] for row in Database(kind, database_url, path).query("SELECT reference FROM responses")}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_backup_under_load_restores_everything_acknowledged_before_it(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database_url = request.getfixturevalue(f"{kind}_url")
    survey_id = publish_survey_at(database_url)
    backup = tmp_path / "talking.backup"
    with live_server(database_url, tmp_path, workers=2) as server, Load(server.url, survey_id) as load:
        while len(load.acknowledged) < 300:  # well under way
            time.sleep(0.05)
        began = time.monotonic()
        done = talking("db", "backup", str(backup), database_url=database_url, cwd=tmp_path)
        finished = time.monotonic()
        time.sleep(0.3)  # and on after it
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr  # the progress bar ran to the end
    assert not load.failures, load.failures[:3]
    before = {reference for at, reference in load.acknowledged if at < began}
    during = [reference for at, reference in load.acknowledged if began <= at < finished]
    after = {reference for at, reference in load.acknowledged if at >= finished}
    assert len(before) >= 300 and during, "the load must run while the backup does"

    with empty_database(kind, tmp_path) as restored_url:
        restored = talking("db", "restore", str(backup), database_url=restored_url, cwd=tmp_path)
        assert restored.returncode == 0, restored.stderr
        assert "100%" in restored.stderr
        in_backup = stored_references(restored_url)
        assert before <= in_backup  # everything acknowledged before the backup began
        assert not (after & in_backup)  # and nothing from after it ended: one snapshot
        kept, recounted = tallies_and_recount(restored_url)
        assert kept == recounted and kept["tally_respondents"]  # consistent: counts match the rows
        # The restored database serves: the app starts on it and takes an answer.
        with live_server(restored_url, tmp_path) as server:
            answer = {"district": "E07000123", "picks": ["burglary"]}
            assert httpx.post(f"{server.url}/api/v1/surveys/{survey_id}/responses", json=answer).status_code == 201


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_restore_refuses_a_database_that_is_not_empty(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database_url = request.getfixturevalue(f"{kind}_url")
    publish_survey_at(database_url)
    backup = tmp_path / "talking.backup"
    assert talking("db", "backup", str(backup), database_url=database_url, cwd=tmp_path).returncode == 0
    refused = talking("db", "restore", str(backup), database_url=database_url, cwd=tmp_path)
    assert refused.returncode != 0
    assert "is not empty" in refused.stderr and "only into an empty database" in refused.stderr
    assert stored_references(database_url) == set()  # untouched
    again = talking("db", "backup", str(backup), database_url=database_url, cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_restore_refuses_what_is_not_a_backup(kind: str, tmp_path: Path) -> None:
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not a backup")
    with empty_database(kind, tmp_path) as empty_url:
        refused = talking("db", "restore", str(wrong), database_url=empty_url, cwd=tmp_path)
        assert refused.returncode != 0
        assert "is not a" in refused.stderr and "Traceback" not in refused.stderr
        missing = talking("db", "restore", str(tmp_path / "nothing"), database_url=empty_url, cwd=tmp_path)
        assert missing.returncode != 0 and "does not exist" in missing.stderr


def test_backup_refuses_a_database_that_is_not_there(tmp_path: Path) -> None:
    refused = talking(
        "db", "backup", str(tmp_path / "b"), database_url=f"sqlite+aiosqlite:///{tmp_path}/none.db", cwd=tmp_path
    )
    assert refused.returncode != 0 and "there is no database" in refused.stderr
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "b").exists()
