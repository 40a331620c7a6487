"""Migrations: one head, numbered, the same on SQLite and PostgreSQL, and in step with the models."""

from __future__ import annotations

import re
import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db import migrate
from talking.db.engine import create_engine
from talking.db.models import Base, District
from talking.reference import districts


def test_one_head_and_numbered_revisions() -> None:
    assert len(migrate.heads()) == 1, "two migration heads: merge them"
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    for revision in scripts.walk_revisions():
        assert re.fullmatch(r"\d{4}", revision.revision), revision.revision
        assert revision.module.__file__.split("/")[-1].startswith(revision.revision + "_")


async def test_models_match_migrations(each_database_url: str) -> None:
    engine = create_engine(each_database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": False}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    # Index names of unique constraints differ by engine; only real differences count.
    real = [d for d in diff if not (isinstance(d, tuple) and d[0] in {"remove_index", "add_index"})]
    assert real == [], real


async def test_districts_seeded_match_reference_data(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        seeded = dict((await conn.execute(select(District.code, District.name))).all())
    assert seeded == {d.code: d.name for d in districts()}


def test_downgrade_to_base_and_back(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    migrate.upgrade(url)


def insert_open_survey(db: sqlite3.Connection, title: str, max_picks: int, issue_codes: list[str]) -> None:
    """Survey 1, open, offering these issues in order: plain SQL, so it works at any revision."""
    db.execute(
        "INSERT INTO surveys (id, title, introduction, max_picks, status, created_at, updated_at, ask_about_you,"
        " wave) VALUES (1, ?, '', ?, 'open', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, 1)",
        (title, max_picks),
    )
    db.executemany(
        "INSERT INTO survey_issues VALUES (1, ?, ?, ?)",
        [(code, position, code.title()) for position, code in enumerate(issue_codes)],
    )


def test_0003_fills_ranked_picks_and_tallies_from_answers_already_stored(tmp_path) -> None:
    """A database that took answers before the tallies existed gets them counted on upgrade."""
    import numpy as np

    from analysis.data import pick_stats
    from talking.reports.data import MARGINS, load_frame, load_rows, load_stats

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url, "0002")
    answers = [("E07000123", "45-54", ["burglary", "speeding", "fraud"]), ("E07000123", None, ["fraud"])]
    answers += [("E07000117", "75-and-over", ["speeding", "burglary"])] * 3
    with sqlite3.connect(path) as db:
        insert_open_survey(db, "Old", 3, ["burglary", "speeding", "fraud"])
        for number, (district, age, picks) in enumerate(answers):
            response_id = db.execute(
                "INSERT INTO responses (survey_id, reference, district_code, age_band, channel, submitted_at)"
                " VALUES (1, ?, ?, ?, 'web', '2026-01-02 00:00:00')",
                (f"LT-OLD-{number}", district, age),
            ).lastrowid
            for rank, code in enumerate(picks, start=1):
                db.execute("INSERT INTO response_picks VALUES (?, ?, 1, ?, ?)", (response_id, rank, district, code))
    migrate.upgrade(url)
    with sqlite3.connect(path) as db:
        ranked = [r[0] for r in db.execute("SELECT ranked_picks FROM responses ORDER BY id")]
    assert ranked == [" ".join(picks) for _d, _a, picks in answers]

    from sqlalchemy import create_engine as create_sync_engine

    with create_sync_engine(f"sqlite:///{path}").connect() as conn:
        frame = load_frame(conn, 1)
        kept = load_stats(conn, frame)
        expected = pick_stats(load_rows(conn, frame), MARGINS)
    np.testing.assert_array_equal(kept.by_district().point_cross, expected.by_district().point_cross)
    np.testing.assert_array_equal(kept.by_district().counts, expected.by_district().counts)
    assert int(kept.n.sum()) == len(answers)


def test_0004_downgrade_gives_picks_their_district_back(tmp_path) -> None:
    """0004 drops the picks' copy of the district; going back to 0003 fills it from the responses."""
    path = tmp_path / "new.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)
    with sqlite3.connect(path) as db:
        insert_open_survey(db, "New", 2, ["fraud", "burglary"])
        for number, district in enumerate(["E07000123", "E07000117"], start=1):
            db.execute(
                "INSERT INTO responses (id, survey_id, reference, district_code, channel, submitted_at)"
                " VALUES (?, 1, ?, ?, 'web', '2026-01-02 00:00:00')",
                (number, f"LT-NEW-{number}", district),
            )
            db.execute("INSERT INTO response_picks VALUES (?, 1, 1, 'fraud'), (?, 2, 1, 'burglary')", (number, number))
    migrate.downgrade(url, "0003")
    with sqlite3.connect(path) as db:
        picks = db.execute("SELECT response_id, rank, district_code FROM response_picks ORDER BY 1, 2").fetchall()
        indexes = {row[1] for row in db.execute("PRAGMA index_list(responses)")}
    assert picks == [(1, 1, "E07000123"), (1, 2, "E07000123"), (2, 1, "E07000117"), (2, 2, "E07000117")]
    assert "ix_responses_survey_district" in indexes and "ix_responses_survey" not in indexes
