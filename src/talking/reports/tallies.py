"""Running tallies of the picks, kept in each submission's transaction.

A report needs, per district and weighting cell, how many respondents there are, who put which
issue at which rank, and the sum of points(a) x points(b) over each pair of issues (the
sufficient statistics of analysis.data.PickStats). A GROUP BY over millions of pick rows takes
seconds; these tables make it a read of a few thousand rows. The writer calls `add_batch` after
inserting a batch, so each tally is aggregated inside the database engine (no per-row Python
work on the submission path) and commits, or not, with the responses themselves.

Rows are grouped and inserted in key order so that concurrent writers on PostgreSQL take row
locks in the same order and cannot deadlock.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# Unknown age band or sex is stored as '' so it can be part of a primary key.
UNKNOWN = ""

# {responses} is a WHERE condition on responses r choosing the batch; see _batch_condition.
_RESPONDENTS = """
INSERT INTO tally_respondents (survey_id, district_code, age_band, sex, respondents, comments)
SELECT r.survey_id, r.district_code, coalesce(r.age_band, ''), coalesce(r.sex, ''), count(*),
       sum(CASE WHEN r.comment <> '' THEN 1 ELSE 0 END)
FROM responses r
WHERE {responses}
GROUP BY r.survey_id, r.district_code, coalesce(r.age_band, ''), coalesce(r.sex, '')
ORDER BY 1, 2, 3, 4
ON CONFLICT (survey_id, district_code, age_band, sex)
DO UPDATE SET respondents = tally_respondents.respondents + excluded.respondents,
              comments = tally_respondents.comments + excluded.comments
"""

_POSITIONS = """
INSERT INTO tally_positions (survey_id, district_code, age_band, sex, issue_code, rank, picks)
SELECT r.survey_id, r.district_code, coalesce(r.age_band, ''), coalesce(r.sex, ''), p.issue_code, p.rank, count(*)
FROM responses r JOIN response_picks p ON p.response_id = r.id
WHERE {responses}
GROUP BY r.survey_id, r.district_code, coalesce(r.age_band, ''), coalesce(r.sex, ''), p.issue_code, p.rank
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (survey_id, district_code, age_band, sex, issue_code, rank)
DO UPDATE SET picks = tally_positions.picks + excluded.picks
"""

_PAIRS = """
INSERT INTO tally_pairs (survey_id, district_code, age_band, sex, issue_a, issue_b, point_product)
SELECT r.survey_id, r.district_code, coalesce(r.age_band, ''), coalesce(r.sex, ''), a.issue_code, b.issue_code,
       sum((s.max_picks + 1 - a.rank) * (s.max_picks + 1 - b.rank))
FROM responses r
JOIN surveys s ON s.id = r.survey_id
JOIN response_picks a ON a.response_id = r.id
JOIN response_picks b ON b.response_id = r.id AND b.issue_code > a.issue_code
WHERE {responses}
GROUP BY r.survey_id, r.district_code, coalesce(r.age_band, ''), coalesce(r.sex, ''), a.issue_code, b.issue_code
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (survey_id, district_code, age_band, sex, issue_a, issue_b)
DO UPDATE SET point_product = tally_pairs.point_product + excluded.point_product
"""

STATEMENTS = (_RESPONDENTS, _POSITIONS, _PAIRS)


def add_batch(conn: Connection, ids: list[int]) -> None:
    """Add the responses just inserted with these ids to the tallies, in the caller's transaction."""
    if not ids:
        return
    if conn.dialect.name == "sqlite":
        # The writer holds SQLite's write lock for the whole transaction, so the ids it has just
        # inserted are exactly the ones in this range: a range scan, no parameter list.
        condition, params = "r.id BETWEEN :low AND :high", {"low": min(ids), "high": max(ids)}
    else:
        condition, params = "r.id = ANY(:ids)", {"ids": ids}
    for statement in STATEMENTS:
        conn.execute(text(statement.format(responses=condition)), params)


def rebuild(conn: Connection, survey_id: int | None = None) -> None:
    """Recount the tallies from the stored responses (all surveys, or one), in the caller's transaction.

    For the migration that introduced them and for `talking db retally`; the writer keeps them
    current after that.
    """
    where, params = ("r.survey_id = :survey_id", {"survey_id": survey_id}) if survey_id is not None else ("1 = 1", {})
    for table in ("tally_pairs", "tally_positions", "tally_respondents"):
        if survey_id is None:
            conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed table names
        else:
            conn.execute(text(f"DELETE FROM {table} WHERE survey_id = :survey_id"), params)  # noqa: S608
    for statement in STATEMENTS:
        conn.execute(text(statement.format(responses=where)), params)
