"""Surveys, their issues, responses and picks, districts, web sessions.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.db.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Frozen here rather than read from the package, so this migration means the same thing forever.
DISTRICTS = [
    ("E06000008", "Blackburn with Darwen"),
    ("E06000009", "Blackpool"),
    ("E07000117", "Burnley"),
    ("E07000118", "Chorley"),
    ("E07000119", "Fylde"),
    ("E07000120", "Hyndburn"),
    ("E07000121", "Lancaster"),
    ("E07000122", "Pendle"),
    ("E07000123", "Preston"),
    ("E07000124", "Ribble Valley"),
    ("E07000125", "Rossendale"),
    ("E07000126", "South Ribble"),
    ("E07000127", "West Lancashire"),
    ("E07000128", "Wyre"),
]


def upgrade() -> None:
    districts = op.create_table(
        "districts",
        sa.Column("code", sa.String(9), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.bulk_insert(districts, [{"code": c, "name": n} for c, n in DISTRICTS])

    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("introduction", sa.Text, nullable=False),
        sa.Column("max_picks", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("opens_at", UTCDateTime(), nullable=True),
        sa.Column("closes_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("max_picks BETWEEN 1 AND 10", name="max_picks_range"),
        sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name="status_known"),
    )
    op.create_table(
        "survey_issues",
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.UniqueConstraint("survey_id", "position"),
    )
    op.create_table(
        "responses",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id"), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("district_code", sa.String(9), sa.ForeignKey("districts.code"), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("age_band", sa.String(20), nullable=True),
        sa.Column("sex", sa.String(20), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_digest", sa.LargeBinary(32), nullable=True),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("survey_id", "idempotency_key", name="uq_responses_idempotency"),
    )
    op.create_index("ix_responses_survey_district", "responses", ["survey_id", "district_code"])
    op.create_table(
        "response_picks",
        sa.Column("response_id", BigId, sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("rank", sa.SmallInteger, primary_key=True),
        sa.Column("survey_id", sa.Integer, nullable=False),
        sa.Column("district_code", sa.String(9), nullable=False),
        sa.Column("issue_code", sa.String(64), nullable=False),
        sa.UniqueConstraint("response_id", "issue_code", name="uq_response_picks_issue"),
        sa.ForeignKeyConstraint(
            ["survey_id", "issue_code"],
            ["survey_issues.survey_id", "survey_issues.code"],
            name="fk_response_picks_survey_issue",
        ),
        sa.CheckConstraint("rank BETWEEN 1 AND 10", name="rank_range"),
    )
    op.create_index("ix_response_picks_cube", "response_picks", ["survey_id", "district_code", "issue_code", "rank"])
    op.create_table(
        "web_sessions",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("response_picks")
    op.drop_table("responses")
    op.drop_table("survey_issues")
    op.drop_table("surveys")
    op.drop_table("districts")
