"""The `talking` command, run as a newcomer would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text


def talking(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m talking ARGS` against a database."""
    env = {**os.environ, "TALKING_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "talking", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> str:
    """A database file that does not exist yet."""
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


def test_db_upgrade_then_demo(fresh_sqlite: str, tmp_path: Path) -> None:
    upgraded = talking("db", "upgrade", database_url=fresh_sqlite, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    demo = talking("demo", "--responses", "500", "--seed", "7", database_url=fresh_sqlite, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "500 responses" in demo.stdout
    assert "100%" in demo.stderr  # the progress bar ran to the end
    engine = create_sync_engine(fresh_sqlite.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM responses")).scalar_one() == 500
        assert conn.execute(text("SELECT status FROM surveys")).scalar_one() == "open"
        by_district = conn.execute(text("SELECT count(DISTINCT district_code) FROM responses")).scalar_one()
        assert by_district == 14
    again = talking("demo", "--if-empty", database_url=fresh_sqlite, cwd=tmp_path)
    assert again.returncode == 0
    assert "not loaded" in again.stdout


def test_demo_preferences_differ_by_district(fresh_sqlite: str, tmp_path: Path) -> None:
    assert talking("db", "upgrade", database_url=fresh_sqlite, cwd=tmp_path).returncode == 0
    assert talking("demo", "--responses", "4000", database_url=fresh_sqlite, cwd=tmp_path).returncode == 0
    engine = create_sync_engine(fresh_sqlite.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        top = dict(
            conn.execute(
                text(
                    """SELECT d.name, p.issue_code FROM response_picks p JOIN districts d ON d.code = p.district_code
                       WHERE p.rank = 1 GROUP BY d.name, p.issue_code
                       HAVING count(*) = (SELECT max(c) FROM (SELECT count(*) AS c FROM response_picks q
                           WHERE q.rank = 1 AND q.district_code = p.district_code GROUP BY q.issue_code))"""
                )
            ).all()
        )
    assert top["Ribble Valley"] != top["Blackpool"]


def test_same_seed_same_answers(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        url = f"sqlite+aiosqlite:///{tmp_path / name}.db"
        assert talking("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
        assert talking("demo", "--responses", "300", "--seed", "11", database_url=url, cwd=tmp_path).returncode == 0
        engine = create_sync_engine(url.replace("+aiosqlite", ""))
        with engine.connect() as conn:
            dumps.append(
                conn.execute(
                    text("SELECT response_id, rank, issue_code, district_code FROM response_picks ORDER BY 1, 2")
                ).all()
            )
    assert dumps[0] == dumps[1]


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = talking("--help", database_url="sqlite://", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "db", "demo"):
        assert command in result.stdout
