"""Lighter writes per response: an index on survey alone, and picks without a copy of the district.

Each response written updated ix_responses_survey_district at one of fourteen places (one per
district), so a batch wrote about as many of its pages to the log as it touched districts, a sixth
of all the pages a commit writes on SQLite. Nothing reads responses by district any more (counts
come from the running tallies); reads by survey keep an index whose new entries all go at its end.
response_picks.district_code has not been read since the tallies (0003) took over the counts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_responses_survey_district", table_name="responses")
    op.create_index("ix_responses_survey", "responses", ["survey_id"])
    with op.batch_alter_table("response_picks") as batch:
        batch.drop_column("district_code")


def downgrade() -> None:
    with op.batch_alter_table("response_picks") as batch:
        batch.add_column(sa.Column("district_code", sa.String(9), nullable=True))
    op.execute(
        "UPDATE response_picks SET district_code ="
        " (SELECT r.district_code FROM responses r WHERE r.id = response_picks.response_id)"
    )
    with op.batch_alter_table("response_picks") as batch:
        batch.alter_column("district_code", existing_type=sa.String(9), nullable=False)
    op.drop_index("ix_responses_survey", table_name="responses")
    op.create_index("ix_responses_survey_district", "responses", ["survey_id", "district_code"])
