"""Running tallies of the picks, kept in each submission's transaction.

A report needs, per district and weighting cell, how many respondents there are, who put which
issue at which rank, and the sum of points(a) x points(b) over each pair of issues (the
sufficient statistics of analysis.data.PickStats). A GROUP BY over millions of pick rows takes
seconds; these tables make it a read of a few thousand rows.

The writer calls `add_batch` with the ids it has just inserted; `rebuild` recounts from every
stored row (the migration that introduced the tallies, and `talking db retally`). Both run the
same statements, so the aggregation happens inside the database engine, and both commit, or not,
with the caller's transaction. Rows go in key order so that concurrent writers on PostgreSQL take
row locks in the same order and cannot deadlock.

The weighting cell is the age level the raking uses (Census 2021 gives 15-64 and 65 and over),
not the age band and sex as answered: a batch then touches few, dense rows. Keyed by band and sex,
the tallies cost the writer about 110 microseconds per response on SQLite (FULL), most of it
pages written to the WAL; keyed by level, about 40. Weighting on other margins needs a migration
that changes the key and recounts.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

# Age bands as answered -> the raking level stored in the tallies (0: not given or not said).
AGE_LEVEL_OF_BAND = {
    "16-24": 1,
    "25-34": 1,
    "35-44": 1,
    "45-54": 1,
    "55-64": 1,
    "65-74": 2,
    "75-and-over": 2,
}
NOT_GIVEN = 0


def _age_level_sql() -> str:
    """The same mapping as a SQL expression on responses r (codes are fixed, not input)."""
    by_level: dict[int, list[str]] = {}
    for band, level in AGE_LEVEL_OF_BAND.items():
        by_level.setdefault(level, []).append(f"'{band}'")
    whens = " ".join(f"WHEN r.age_band IN ({', '.join(bands)}) THEN {level}" for level, bands in by_level.items())
    return f"CASE {whens} ELSE {NOT_GIVEN} END"


_AGE = _age_level_sql()

# {rows} chooses the rows to count; it is a template naming the table alias ({t}), applied to the
# responses r and to the picks alike, so that PostgreSQL reaches each through its own index
# (filtered on r alone, with stale statistics it chose to scan every pick).
_RESPONDENTS = f"""
INSERT INTO tally_respondents (survey_id, district_code, age_level, respondents, comments)
SELECT r.survey_id, r.district_code, {_AGE}, count(*), sum(CASE WHEN r.comment <> '' THEN 1 ELSE 0 END)
FROM responses r
WHERE {{r}}
GROUP BY r.survey_id, r.district_code, {_AGE}
ORDER BY 1, 2, 3
ON CONFLICT (survey_id, district_code, age_level)
DO UPDATE SET respondents = tally_respondents.respondents + excluded.respondents,
              comments = tally_respondents.comments + excluded.comments
"""  # noqa: S608 - the text holds fixed codes only; values are bound

_POSITIONS = f"""
INSERT INTO tally_positions (survey_id, district_code, age_level, issue_code, rank, picks)
SELECT r.survey_id, r.district_code, {_AGE}, p.issue_code, p.rank, count(*)
FROM responses r JOIN response_picks p ON p.response_id = r.id
WHERE {{r}} AND {{p}}
GROUP BY r.survey_id, r.district_code, {_AGE}, p.issue_code, p.rank
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (survey_id, district_code, age_level, issue_code, rank)
DO UPDATE SET picks = tally_positions.picks + excluded.picks
"""  # noqa: S608

_PAIRS = f"""
INSERT INTO tally_pairs (survey_id, district_code, age_level, issue_a, issue_b, point_product)
SELECT r.survey_id, r.district_code, {_AGE}, a.issue_code, b.issue_code,
       sum((s.max_picks + 1 - a.rank) * (s.max_picks + 1 - b.rank))
FROM responses r
JOIN surveys s ON s.id = r.survey_id
JOIN response_picks a ON a.response_id = r.id
JOIN response_picks b ON b.response_id = r.id AND b.issue_code > a.issue_code
WHERE {{r}} AND {{a}}
GROUP BY r.survey_id, r.district_code, {_AGE}, a.issue_code, b.issue_code
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (survey_id, district_code, age_level, issue_a, issue_b)
DO UPDATE SET point_product = tally_pairs.point_product + excluded.point_product
"""  # noqa: S608

# Each tally table and the statement that adds to it.
STATEMENTS = {"tally_respondents": _RESPONDENTS, "tally_positions": _POSITIONS, "tally_pairs": _PAIRS}


def _run(conn: Connection, rows: str, params: dict) -> None:
    """Run the three statements on the rows chosen by the template `rows` (see above)."""
    on = {alias: rows.format(t=alias, id="id" if alias == "r" else "response_id") for alias in ("r", "p", "a")}
    for statement in STATEMENTS.values():
        conn.execute(text(statement.format(**on)), params)


def add_batch(conn: Connection, ids: list[int]) -> None:
    """Add the responses just inserted with these ids to the tallies, in the caller's transaction."""
    if not ids:
        return
    if conn.dialect.name == "sqlite":
        # The writer holds SQLite's write lock for the whole transaction, so the ids it has just
        # inserted are exactly the ones in this range: a range scan, no parameter list.
        _run(conn, "{t}.{id} BETWEEN :low AND :high", {"low": min(ids), "high": max(ids)})
    else:
        _run(conn, "{t}.{id} = ANY(:ids)", {"ids": ids})


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
    rows = "1 = 1" if survey_id is None else "{t}.survey_id = :survey_id"
    on = {alias: rows.format(t=alias) for alias in ("r", "p", "a")}
    for table, statement in STATEMENTS.items():
        if progress:
            progress(table)
        conn.execute(text(statement.format(**on)), params)
