"""Public results ("you said, we did"): publications, approved quotes, partners' updates, the cache stamp.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.db.models import BigId, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("stage", sa.String(10), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.CheckConstraint("stage IN ('interim', 'final')", name="stage_known"),
    )
    op.create_index(
        "ix_published_results_live",
        "published_results",
        ["survey_id"],
        unique=True,
        sqlite_where=sa.text("withdrawn_at IS NULL"),
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    op.create_table(
        "approved_quotes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("response_id", BigId, sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False),
        sa.Column("district_code", sa.String(9), sa.ForeignKey("districts.code"), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.UniqueConstraint("survey_id", "response_id", name="uq_approved_quotes_survey_response"),
    )
    op.create_index("ix_approved_quotes_response_id", "approved_quotes", ["response_id"])
    op.create_table(
        "results_updates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("district_code", sa.String(9), sa.ForeignKey("districts.code"), nullable=True),
        sa.Column("issue_code", sa.String(64), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("partner", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_results_updates_survey", "results_updates", ["survey_id", "district_code"])
    stamp = op.create_table(
        "results_stamp",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(stamp, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("results_stamp")
    op.drop_index("ix_results_updates_survey", table_name="results_updates")
    op.drop_table("results_updates")
    op.drop_index("ix_approved_quotes_response_id", table_name="approved_quotes")
    op.drop_table("approved_quotes")
    op.drop_index("ix_published_results_live", table_name="published_results")
    op.drop_table("published_results")
