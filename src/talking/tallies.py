"""Running tallies of the picks, kept in each submission's transaction.

Shared ground: the residents' response writer keeps them and the analysts' reports read them, so
they belong to neither feature.

A report needs, per district and weighting cell, how many respondents there are, who put which
issue at which rank, and the sum of points(a) x points(b) over each pair of issues (the
sufficient statistics of analysis.data.PickStats). A GROUP BY over millions of pick rows takes
seconds; these tables make it a read of a few thousand rows.

The writer counts the answers it has just inserted in Python (`batch_deltas`: it holds them
already) and adds them (`add_deltas`); `rebuild` recounts from every stored row with the
statements below (`talking db retally`). Both commit, or not, with the caller's transaction, and
the tests hold the two to the same counts. On PostgreSQL rows go in key order (``ORDER BY`` in
each statement) so that concurrent writers take row locks in the same order and cannot deadlock.

The weighting cell is the age band and sex as answered, each stored as a small level number
(``age_level`` 1-7 for 16-24 ... 75-and-over, ``sex_level`` 1 female, 2 male; 0 when not given or
"prefer not to say"), the raking's margins (talking.reports.data). Numbers rather than the answer
codes keep the key, and so every B-tree page, narrow: a batch touches more rows than the two age
levels kept until migration 0010 did, and the writer's cost is mostly pages written
(benchmarks/ingest.py; figures in docs/architecture.md). Weighting on other margins needs a
migration that changes the key and recounts, as 0010 did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import combinations
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, func, select, text
from sqlalchemy.dialects import postgresql

from talking.db.models import tally_pairs, tally_positions, tally_respondents
from talking.reference.residents import WEIGHTING_AGE_BANDS, WEIGHTING_SEXES

# Answers -> the levels stored in the tallies (NOT_GIVEN: not given, "prefer not to say", or unknown).
AGE_LEVEL_OF_BAND = {band: level for level, band in enumerate(WEIGHTING_AGE_BANDS, start=1)}
SEX_LEVEL_OF = {sex: level for level, sex in enumerate(WEIGHTING_SEXES, start=1)}
NOT_GIVEN = 0


def age_level_of(band: str | None) -> int:
    """The level stored in the tallies for an answered age band (NOT_GIVEN when none or unknown)."""
    return AGE_LEVEL_OF_BAND.get(band or "", NOT_GIVEN)


def sex_level_of(sex: str | None) -> int:
    """The level stored in the tallies for an answered sex (NOT_GIVEN when none or unknown)."""
    return SEX_LEVEL_OF.get(sex or "", NOT_GIVEN)


def _level_sql(column: str, levels: dict[str, int]) -> str:
    """A mapping above as a SQL expression on responses r (codes are fixed, not input)."""
    whens = " ".join(f"WHEN '{code}' THEN {level}" for code, level in levels.items())
    return f"CASE r.{column} {whens} ELSE {NOT_GIVEN} END"


_CELL = f"{_level_sql('age_band', AGE_LEVEL_OF_BAND)}, {_level_sql('sex', SEX_LEVEL_OF)}"

# {r}, {p} and {a} choose the rows to count, each on its own table (the responses r, the picks p
# and a), so that PostgreSQL reaches each through its own index (filtered on r alone, with stale
# statistics it chose to scan every pick).
_RESPONDENTS = f"""
INSERT INTO tally_respondents (survey_id, district_code, age_level, sex_level, respondents, comments)
SELECT r.survey_id, r.district_code, {_CELL}, count(*), sum(CASE WHEN r.comment <> '' THEN 1 ELSE 0 END)
FROM responses r
WHERE {{r}}
GROUP BY r.survey_id, r.district_code, {_CELL}
ORDER BY 1, 2, 3, 4
ON CONFLICT (survey_id, district_code, age_level, sex_level)
DO UPDATE SET respondents = tally_respondents.respondents + excluded.respondents,
              comments = tally_respondents.comments + excluded.comments
"""  # noqa: S608 - the text holds fixed codes only; values are bound

_POSITIONS = f"""
INSERT INTO tally_positions (survey_id, district_code, age_level, sex_level, issue_code, rank, picks)
SELECT r.survey_id, r.district_code, {_CELL}, p.issue_code, p.rank, count(*)
FROM responses r JOIN response_picks p ON p.response_id = r.id
WHERE {{r}} AND {{p}}
GROUP BY r.survey_id, r.district_code, {_CELL}, p.issue_code, p.rank
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (survey_id, district_code, age_level, sex_level, issue_code, rank)
DO UPDATE SET picks = tally_positions.picks + excluded.picks
"""  # noqa: S608

_PAIRS = f"""
INSERT INTO tally_pairs (survey_id, district_code, age_level, sex_level, issue_a, issue_b, point_product)
SELECT r.survey_id, r.district_code, {_CELL}, a.issue_code, b.issue_code,
       sum((s.max_picks + 1 - a.rank) * (s.max_picks + 1 - b.rank))
FROM responses r
JOIN surveys s ON s.id = r.survey_id
JOIN response_picks a ON a.response_id = r.id
JOIN response_picks b ON b.response_id = r.id AND b.issue_code > a.issue_code
WHERE {{r}} AND {{a}}
GROUP BY r.survey_id, r.district_code, {_CELL}, a.issue_code, b.issue_code
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (survey_id, district_code, age_level, sex_level, issue_a, issue_b)
DO UPDATE SET point_product = tally_pairs.point_product + excluded.point_product
"""  # noqa: S608

# Each tally table and the statement that adds to it.
STATEMENTS = {"tally_respondents": _RESPONDENTS, "tally_positions": _POSITIONS, "tally_pairs": _PAIRS}


class Counted(NamedTuple):
    """What the tallies need of one response the writer has just inserted."""

    survey_id: int
    district_code: str
    age_band: str | None
    sex: str | None
    picks: Sequence[str]  # most important first
    comment: str | None
    max_picks: int  # the survey's: points are max_picks + 1 - rank


def batch_deltas(batch: Iterable[Counted]) -> dict[str, list[tuple[Any, ...]]]:
    """Each tally table's additions for these responses, one row per key.

    Not sorted here: PostgreSQL's upsert takes its rows in key order itself (``ORDER BY``, so that
    writers lock rows alike), and SQLite has one write lock for the whole file.

    The same counts as the statements below make from the stored rows (the tests hold the two
    together): respondents and comments per cell, picks per issue and rank, and the point
    products of each pair of picks (issue_a before issue_b in code order).
    """
    # Plain dicts with .get: Counter's += on a new key runs a Python __missing__, which made this
    # loop a sixth of the writer's time.
    respondents: dict[tuple[Any, ...], int] = {}
    comments: dict[tuple[Any, ...], int] = {}
    positions: dict[tuple[Any, ...], int] = {}
    pairs: dict[tuple[Any, ...], int] = {}
    age_of, sex_of = AGE_LEVEL_OF_BAND.get, SEX_LEVEL_OF.get
    for answer in batch:
        survey_id, district = answer.survey_id, answer.district_code
        age, sex = age_of(answer.age_band or "", NOT_GIVEN), sex_of(answer.sex or "", NOT_GIVEN)
        cell = (survey_id, district, age, sex)
        respondents[cell] = respondents.get(cell, 0) + 1
        comments[cell] = comments.get(cell, 0) + (1 if answer.comment else 0)
        for rank, code in enumerate(answer.picks, start=1):
            key = (*cell, code, rank)
            positions[key] = positions.get(key, 0) + 1
        # (code, points) in code order, so that each pair comes once with issue_a < issue_b
        scored = sorted(zip(answer.picks, range(answer.max_picks, 0, -1), strict=False))
        for (code_a, points_a), (code_b, points_b) in combinations(scored, 2):
            key = (*cell, code_a, code_b)
            pairs[key] = pairs.get(key, 0) + points_a * points_b
    return {
        "tally_respondents": [(*key, count, comments[key]) for key, count in respondents.items()],
        "tally_positions": [(*key, count) for key, count in positions.items()],
        "tally_pairs": [(*key, product) for key, product in pairs.items()],
    }


def difference(before: Iterable[Counted], after: Iterable[Counted]) -> dict[str, list[tuple[Any, ...]]]:
    """The change to the tallies when answers counted as ``before`` are to be counted as ``after``.

    For answers changed or taken away after they were stored (retention, erasure): give the result
    to ``add_deltas``, then ``drop_empty``. One row per key, as PostgreSQL's upsert needs, and none
    that change nothing.
    """
    old, new = batch_deltas(before), batch_deltas(after)
    changes = {}
    for table, rows in new.items():
        keys = len(KEYS[table])
        totals: dict[tuple[Any, ...], list[int]] = {row[:keys]: list(row[keys:]) for row in rows}
        for row in old[table]:
            counts = totals.setdefault(row[:keys], [0] * (len(row) - keys))
            for n, value in enumerate(row[keys:]):
                counts[n] -= value
        changes[table] = [(*key, *counts) for key, counts in totals.items() if any(counts)]
    return changes


def drop_empty(conn: Connection, survey_id: int) -> None:
    """Delete a survey's tally rows whose counts are all zero (answers taken away), as a recount has none."""
    for table in (tally_respondents, tally_positions, tally_pairs):
        empty = " AND ".join(f"{c.name} = 0" for c in table.columns if not c.primary_key)
        statement = f"DELETE FROM {table.name} WHERE survey_id = :survey_id AND {empty}"  # noqa: S608 - our names
        conn.execute(text(statement), {"survey_id": survey_id})


def add_deltas(conn: Connection, deltas: dict[str, list[tuple[Any, ...]]]) -> None:
    """Add a batch's ``batch_deltas`` to the tallies, in the caller's transaction (the writer's).

    Counted by the writer rather than by the statements below: it already holds every answer, and
    one upsert per table of ready-made rows costs the database about half what aggregating the
    just-inserted rows again did (PostgreSQL, batches of 64: about 10 ms down to 5; see
    benchmarks/ingest.py).
    """
    postgres = conn.dialect.name == "postgresql"
    for table, rows in deltas.items():
        if not rows:  # an empty batch, or one pick each: no pairs
            continue
        if postgres:
            conn.exec_driver_sql(_POSTGRES_ADD[table], tuple(map(list, zip(*rows, strict=True))))
        else:
            conn.exec_driver_sql(_SQLITE_ADD[table], rows)


def respondent_counts(*by: ColumnElement[Any]) -> Select[Any]:
    """Respondents summed from the tallies, per ``by`` (tally_respondents columns; none: one total).

    Exact, as the tallies commit with the responses; the column is labelled ``respondents`` and
    is NULL, not 0, for a total over no rows.
    """
    total = func.sum(tally_respondents.c.respondents).label("respondents")
    return select(*by, total).group_by(*by)


def _upserts() -> tuple[dict[str, str], dict[str, str]]:
    """Per table: PostgreSQL's upsert of whole columns (unnest, one statement), SQLite's of one row.

    Built from the tables' definitions (talking.db.models): the key is the primary key, and every
    other column is a count that adds up. ``batch_deltas`` gives rows in the tables' column order.
    """
    postgres, sqlite = {}, {}
    for table in (tally_respondents, tally_positions, tally_pairs):
        keys = [c.name for c in table.primary_key.columns]
        counts = [c.name for c in table.columns if not c.primary_key]
        columns = ", ".join(c.name for c in table.columns)
        adds = ", ".join(f"{v} = {table.name}.{v} + excluded.{v}" for v in counts)
        conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {adds}"
        types = [c.type.compile(dialect=postgresql.dialect()) for c in table.columns]
        arrays = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(types, start=1))
        order = ", ".join(str(n) for n in range(1, len(keys) + 1))
        # ORDER BY: rows locked in key order, as the statements below do, so writers cannot deadlock.
        postgres[table.name] = (
            f"INSERT INTO {table.name} ({columns}) SELECT * FROM unnest({arrays}) ORDER BY {order} {conflict}"  # noqa: S608 - names from our models
        )
        sqlite[table.name] = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' * len(types))}) {conflict}"  # noqa: S608
    return postgres, sqlite


_POSTGRES_ADD, _SQLITE_ADD = _upserts()
# Each table's key columns, in order (batch_deltas' rows start with them).
KEYS = {
    table.name: [c.name for c in table.primary_key.columns]
    for table in (tally_respondents, tally_positions, tally_pairs)
}


def rebuild(conn: Connection, survey_id: int | None = None, progress: Callable[[str], None] | None = None) -> None:
    """Recount the tallies from the stored responses (all surveys, or one), in the caller's transaction.

    progress, if given, hears the name of each table as its recount starts.
    """
    params = {} if survey_id is None else {"survey_id": survey_id}
    for table in STATEMENTS:
        if survey_id is None:
            conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed table names
        else:
            conn.execute(text(f"DELETE FROM {table} WHERE survey_id = :survey_id"), params)  # noqa: S608
    # picks carry their survey's id too, so both tables are chosen by it
    on = {alias: "1 = 1" if survey_id is None else f"{alias}.survey_id = :survey_id" for alias in ("r", "p", "a")}
    for table, statement in STATEMENTS.items():
        if progress:
            progress(table)
        conn.execute(text(statement.format(**on)), params)
