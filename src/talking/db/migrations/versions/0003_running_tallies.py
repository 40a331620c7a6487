"""Running tallies of respondents, pick positions and point products, for reports at any scale;
and each response's picks in rank order on its own row, for exports and samples.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.reports import tallies

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
    tallies.rebuild(op.get_bind())
    # The tallies answer the district x issue x rank counts this index was for; one index fewer to
    # update per pick written.
    op.drop_index("ix_response_picks_cube", table_name="response_picks")


def downgrade() -> None:
    op.create_index("ix_response_picks_cube", "response_picks", ["survey_id", "district_code", "issue_code", "rank"])
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("ranked_picks")
    for table in ("tally_pairs", "tally_positions", "tally_respondents"):
        op.drop_table(table)
