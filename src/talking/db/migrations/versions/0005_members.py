"""The resident panel's members: email (unique whatever its case), district, about-you, consent, status.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.db.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("email_key", sa.String(254), nullable=True),
        sa.Column("district_code", sa.String(9), sa.ForeignKey("districts.code"), nullable=True),
        sa.Column("age_band", sa.String(20), nullable=True),
        sa.Column("sex", sa.String(20), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("consent_version", sa.String(40), nullable=True),
        sa.Column("consent_at", UTCDateTime(), nullable=True),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("email_key"),
        sa.CheckConstraint("status IN ('pending', 'active', 'unsubscribed', 'erased')", name="status_known"),
    )
    op.create_index("ix_members_district_status", "members", ["district_code", "status"])


def downgrade() -> None:
    op.drop_index("ix_members_district_status", table_name="members")
    op.drop_table("members")
