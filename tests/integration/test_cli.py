"""The `talking` command, run as a newcomer would run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from ..conftest import talking


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
        assert conn.execute(text("SELECT count(*) FROM responses WHERE survey_id = 1")).scalar_one() == 500
        assert conn.execute(text("SELECT status, audience FROM surveys WHERE id = 1")).one() == ("open", "open")
        by_district = conn.execute(text("SELECT count(DISTINCT district_code) FROM responses")).scalar_one()
        assert by_district == 14
        # The demo panel: members in every district, a members survey, invitations and answers that agree.
        assert conn.execute(text("SELECT status, audience FROM surveys WHERE id = 2")).one() == ("open", "members")
        members = conn.execute(text("SELECT count(*), count(DISTINCT district_code) FROM members")).one()
        assert 300 <= members[0] <= 500 and members[1] == 14
        invited, answered = conn.execute(text("SELECT count(*), count(used_on) FROM invitations")).one()
        assert invited == members[0] and 0 < answered < invited
        assert conn.execute(text("SELECT count(*) FROM responses WHERE survey_id = 2")).scalar_one() == answered
        used = "SELECT district_code, count(used_on) FROM invitations GROUP BY 1 ORDER BY 1"
        answers = "SELECT district_code, count(*) FROM responses WHERE survey_id = 2 GROUP BY 1 ORDER BY 1"
        assert [tuple(r) for r in conn.execute(text(used)) if r[1]] == [tuple(r) for r in conn.execute(text(answers))]
        emails = "SELECT count(*) FROM mail_outbox WHERE kind = 'invitation'"
        assert conn.execute(text(emails)).scalar_one() == invited
    assert f"{invited:,} invited (their emails queued), {answered:,} answered" in demo.stdout
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
                    """SELECT d.name, p.issue_code FROM response_picks p
                       JOIN responses r ON r.id = p.response_id JOIN districts d ON d.code = r.district_code
                       WHERE p.rank = 1 GROUP BY d.name, p.issue_code
                       HAVING count(*) = (SELECT max(c) FROM (SELECT count(*) AS c FROM response_picks q
                           JOIN responses s ON s.id = q.response_id
                           WHERE q.rank = 1 AND s.district_code = d.code GROUP BY q.issue_code))"""
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
                    text(
                        "SELECT p.response_id, p.rank, p.issue_code, r.district_code FROM response_picks p"
                        " JOIN responses r ON r.id = p.response_id ORDER BY 1, 2"
                    )
                ).all()
            )
    assert dumps[0] == dumps[1]


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = talking("--help", database_url="sqlite://", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "db", "demo"):
        assert command in result.stdout


@pytest.fixture
def demo_database(fresh_sqlite: str, tmp_path: Path) -> str:
    """The demo survey (id 1) with 800 answers."""
    assert talking("db", "upgrade", database_url=fresh_sqlite, cwd=tmp_path).returncode == 0
    assert talking("demo", "--responses", "800", "--seed", "3", database_url=fresh_sqlite, cwd=tmp_path).returncode == 0
    return fresh_sqlite


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_report_writes_each_format_with_progress(demo_database: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    done = talking("report", "1", "--format", fmt, "--out", str(out), database_url=demo_database, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "report on 800 responses" in done.stdout
    assert "100%" in done.stderr and "analysis" in done.stderr  # the progress bar named its steps
    content = out.read_bytes()
    if fmt == "json":
        import json

        report = json.loads(content)
        assert report["responses"] == 800 and len(report["districts"]) == 14
    elif fmt == "csv":
        assert content.startswith(b"area_type,area_code,area_name,weighting")
    else:
        assert content[:2] == b"PK"  # a zip container, as every XLSX is
    engine = create_sync_engine(demo_database.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        audited = conn.execute(
            text("SELECT actor_email, detail FROM audit_events WHERE action = 'report_exported'")
        ).all()
    assert audited and audited[0][0] == "command line" and fmt in audited[0][1]


def test_report_method_options_reach_the_report(demo_database: str, tmp_path: Path) -> None:
    import json

    out = tmp_path / "r.json"
    args = ["report", "1", "--format", "json", "--out", str(out), "--bootstrap", "--draws", "200", "--seed", "9"]
    done = talking(*args, "--min-cell", "5000", database_url=demo_database, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert (report["method"]["interval"], report["method"]["draws"], report["method"]["random_state"]) == (
        "bootstrap",
        200,
        9,
    )
    assert all(d["suppressed"] for d in report["districts"])  # 800 answers, none reaches 5,000


def test_report_on_an_unknown_survey_fails_clearly(demo_database: str, tmp_path: Path) -> None:
    out = tmp_path / "none.json"
    done = talking("report", "99", "--format", "json", "--out", str(out), database_url=demo_database, cwd=tmp_path)
    assert done.returncode != 0
    assert "no survey with id 99" in done.stderr
    assert not out.exists()


def test_retally_recounts_what_was_lost(demo_database: str, tmp_path: Path) -> None:
    engine = create_sync_engine(demo_database.replace("+aiosqlite", ""))
    # Survey 1, the demo survey (the demo panel's members survey is survey 2).
    query = text(
        "SELECT sum(respondents), (SELECT sum(picks) FROM tally_positions WHERE survey_id = 1)"
        " FROM tally_respondents WHERE survey_id = 1"
    )
    pairs = text("SELECT * FROM tally_pairs WHERE survey_id = 1 ORDER BY 1, 2, 3, 4, 5")
    with engine.begin() as conn:
        before, pairs_before = conn.execute(query).one(), conn.execute(pairs).all()
        conn.execute(text("DELETE FROM tally_pairs WHERE survey_id = 1"))
        conn.execute(text("UPDATE tally_respondents SET respondents = 0 WHERE survey_id = 1"))
        conn.execute(text("UPDATE tally_positions SET picks = 0 WHERE survey_id = 1"))
    done = talking("db", "retally", "1", database_url=demo_database, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr
    with engine.connect() as conn:
        assert (
            conn.execute(query).one()
            == before
            == (
                800,
                conn.execute(
                    text(
                        "SELECT count(*) FROM response_picks p JOIN responses r ON r.id = p.response_id"
                        " WHERE r.survey_id = 1"
                    )
                ).scalar(),
            )
        )
        assert pairs_before and conn.execute(pairs).all() == pairs_before
