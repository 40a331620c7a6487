"""Running tallies keyed by age band and sex (the raking's weighting cells), recounted from the
stored responses; downgrade goes back to the two age levels of 0003, recounted the same way.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("tally_respondents", "tally_positions", "tally_pairs")

# The levels as of this revision, written out here rather than taken from talking.tallies, which
# is free to change with later revisions: a migration must do tomorrow what it did today.
_AGE_LEVEL = (
    "CASE r.age_band WHEN '16-24' THEN 1 WHEN '25-34' THEN 2 WHEN '35-44' THEN 3 WHEN '45-54' THEN 4"
    " WHEN '55-64' THEN 5 WHEN '65-74' THEN 6 WHEN '75-and-over' THEN 7 ELSE 0 END"
)
_SEX_LEVEL = "CASE r.sex WHEN 'female' THEN 1 WHEN 'male' THEN 2 ELSE 0 END"
# 0003's two levels: 16-64 and 65 and over
_OLD_AGE_LEVEL = (
    "CASE WHEN r.age_band IN ('16-24', '25-34', '35-44', '45-54', '55-64') THEN 1"
    " WHEN r.age_band IN ('65-74', '75-and-over') THEN 2 ELSE 0 END"
)


def _recount(cell_columns: str, cell: str) -> tuple[str, ...]:
    """The three tallies counted from every stored response, for a cell of these columns and levels."""
    return (
        f"""
INSERT INTO tally_respondents (survey_id, district_code, {cell_columns}, respondents, comments)
SELECT r.survey_id, r.district_code, {cell}, count(*), sum(CASE WHEN r.comment <> '' THEN 1 ELSE 0 END)
FROM responses r
GROUP BY r.survey_id, r.district_code, {cell}
""",  # noqa: S608 - fixed text
        f"""
INSERT INTO tally_positions (survey_id, district_code, {cell_columns}, issue_code, rank, picks)
SELECT r.survey_id, r.district_code, {cell}, p.issue_code, p.rank, count(*)
FROM responses r JOIN response_picks p ON p.response_id = r.id
GROUP BY r.survey_id, r.district_code, {cell}, p.issue_code, p.rank
""",  # noqa: S608
        f"""
INSERT INTO tally_pairs (survey_id, district_code, {cell_columns}, issue_a, issue_b, point_product)
SELECT r.survey_id, r.district_code, {cell}, a.issue_code, b.issue_code,
       sum((s.max_picks + 1 - a.rank) * (s.max_picks + 1 - b.rank))
FROM responses r
JOIN surveys s ON s.id = r.survey_id
JOIN response_picks a ON a.response_id = r.id
JOIN response_picks b ON b.response_id = r.id AND b.issue_code > a.issue_code
GROUP BY r.survey_id, r.district_code, {cell}, a.issue_code, b.issue_code
""",  # noqa: S608
    )


def _create_tallies(cell: tuple[str, ...]) -> None:
    """The three tables (as 0003 made them) with these small-integer level columns in their keys."""

    def key() -> list[sa.Column]:
        return [
            sa.Column("survey_id", sa.Integer, primary_key=True),  # derived data: no foreign key (see models)
            sa.Column("district_code", sa.String(9), primary_key=True),
            *(sa.Column(name, sa.SmallInteger, primary_key=True) for name in cell),
        ]

    op.create_table(
        "tally_respondents",
        *key(),
        sa.Column("respondents", sa.BigInteger, nullable=False),
        sa.Column("comments", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tally_positions",
        *key(),
        sa.Column("issue_code", sa.String(64), primary_key=True),
        sa.Column("rank", sa.SmallInteger, primary_key=True),
        sa.Column("picks", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tally_pairs",
        *key(),
        sa.Column("issue_a", sa.String(64), primary_key=True),
        sa.Column("issue_b", sa.String(64), primary_key=True),
        sa.Column("point_product", sa.BigInteger, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        # as 0003: room on each page for HOT updates of the rows every answer changes
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def _rebuild(cell: tuple[str, ...], cell_levels: str) -> None:
    """Drop the tallies, make them again keyed by this cell, and count every stored answer into them.

    Derived data: recounting is both simpler and surer than rewriting keys in place (a cell that
    splits in two cannot be rewritten), and runs in the migration's transaction on both engines.
    """
    for table in TABLES:
        op.drop_table(table)
    _create_tallies(cell)
    for statement in _recount(", ".join(cell), cell_levels):
        op.execute(statement)


def upgrade() -> None:
    _rebuild(("age_level", "sex_level"), f"{_AGE_LEVEL}, {_SEX_LEVEL}")


def downgrade() -> None:
    _rebuild(("age_level",), _OLD_AGE_LEVEL)
