"""Running tallies of respondents, pick positions and point products, for reports at any scale;
and each response's picks in rank order on its own row, for exports and samples.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _cell_columns() -> list[sa.Column]:
    return [
        sa.Column("survey_id", sa.Integer, primary_key=True),  # derived data: no foreign key (see models)
        sa.Column("district_code", sa.String(9), primary_key=True),
        sa.Column("age_level", sa.SmallInteger, primary_key=True),
    ]


# The counts as of this revision, written out here rather than taken from talking.tallies,
# which is free to change with later revisions: a migration must do tomorrow what it did today.
_COUNT_STORED_ANSWERS = (
    """
INSERT INTO tally_respondents (survey_id, district_code, age_level, respondents, comments)
SELECT r.survey_id, r.district_code,
       CASE WHEN r.age_band IN ('16-24', '25-34', '35-44', '45-54', '55-64') THEN 1
            WHEN r.age_band IN ('65-74', '75-and-over') THEN 2 ELSE 0 END,
       count(*), sum(CASE WHEN r.comment <> '' THEN 1 ELSE 0 END)
FROM responses r
GROUP BY 1, 2, 3
""",
    """
INSERT INTO tally_positions (survey_id, district_code, age_level, issue_code, rank, picks)
SELECT r.survey_id, r.district_code,
       CASE WHEN r.age_band IN ('16-24', '25-34', '35-44', '45-54', '55-64') THEN 1
            WHEN r.age_band IN ('65-74', '75-and-over') THEN 2 ELSE 0 END,
       p.issue_code, p.rank, count(*)
FROM responses r JOIN response_picks p ON p.response_id = r.id
GROUP BY 1, 2, 3, 4, 5
""",
    """
INSERT INTO tally_pairs (survey_id, district_code, age_level, issue_a, issue_b, point_product)
SELECT r.survey_id, r.district_code,
       CASE WHEN r.age_band IN ('16-24', '25-34', '35-44', '45-54', '55-64') THEN 1
            WHEN r.age_band IN ('65-74', '75-and-over') THEN 2 ELSE 0 END,
       a.issue_code, b.issue_code, sum((s.max_picks + 1 - a.rank) * (s.max_picks + 1 - b.rank))
FROM responses r
JOIN surveys s ON s.id = r.survey_id
JOIN response_picks a ON a.response_id = r.id
JOIN response_picks b ON b.response_id = r.id AND b.issue_code > a.issue_code
GROUP BY 1, 2, 3, 4, 5
""",
)


def _code_at(rank: int) -> str:
    return f"(SELECT p.issue_code FROM response_picks p WHERE p.response_id = responses.id AND p.rank = {rank})"  # noqa: S608


def upgrade() -> None:
    op.create_table(
        "tally_respondents",
        *_cell_columns(),
        sa.Column("respondents", sa.BigInteger, nullable=False),
        sa.Column("comments", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tally_positions",
        *_cell_columns(),
        sa.Column("issue_code", sa.String(64), primary_key=True),
        sa.Column("rank", sa.SmallInteger, primary_key=True),
        sa.Column("picks", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tally_pairs",
        *_cell_columns(),
        sa.Column("issue_a", sa.String(64), primary_key=True),
        sa.Column("issue_b", sa.String(64), primary_key=True),
        sa.Column("point_product", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("ranked_picks", sa.Text, nullable=False, server_default=""))
    # Each rank's code by primary-key look-up, joined with spaces (portable, and ordered by rank).
    ranked = " || ".join(
        [f"coalesce({_code_at(1)}, '')"] + [f"coalesce(' ' || {_code_at(rank)}, '')" for rank in range(2, 11)]
    )
    op.execute(f"UPDATE responses SET ranked_picks = {ranked}")  # noqa: S608 - no input in the text
    if op.get_bind().dialect.name == "postgresql":
        # Every answer updates tally rows in place: room on each page lets PostgreSQL keep the new
        # row version beside the old one without touching the index (a HOT update).
        for table in ("tally_respondents", "tally_positions", "tally_pairs"):
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")
    # Count what is already stored; from here on the writer keeps the tallies current.
    for statement in _COUNT_STORED_ANSWERS:
        op.execute(statement)
    # The tallies answer the district x issue x rank counts this index was for; one index fewer to
    # update per pick written.
    op.drop_index("ix_response_picks_cube", table_name="response_picks")


def downgrade() -> None:
    op.create_index("ix_response_picks_cube", "response_picks", ["survey_id", "district_code", "issue_code", "rank"])
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("ranked_picks")
    for table in ("tally_pairs", "tally_positions", "tally_respondents"):
        op.drop_table(table)
