"""Strategic Assessment packs: a survey's report frozen with its method and its answers' fingerprint.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.db.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "packs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id"), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("method_version", sa.String(40), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("crime_months", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(254), nullable=False),
        sa.Column("made_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_packs_survey", "packs", ["survey_id"])


def downgrade() -> None:
    op.drop_index("ix_packs_survey", table_name="packs")
    op.drop_table("packs")
