"""Recorded crime from police.uk: crime_imports (the log) and crime_counts (month, force, district, type).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.db.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crime_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("forces", sa.Text(), nullable=False),
        sa.Column("months", sa.Text(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_outside", sa.Integer(), nullable=False),
        sa.Column("rows_without_location", sa.Integer(), nullable=False),
        sa.Column("rows_refused", sa.Integer(), nullable=False),
        sa.Column("imported_via", sa.String(10), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("imported_via IN ('command', 'upload')", name="imported_via_known"),
    )
    op.create_table(
        "crime_counts",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("force", sa.String(100), nullable=False),
        sa.Column("district_code", sa.String(9), sa.ForeignKey("districts.code"), nullable=False),
        sa.Column("crime_type", sa.String(100), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("crime_imports.id"), nullable=False),
        sa.PrimaryKeyConstraint("month", "force", "district_code", "crime_type"),
        sa.CheckConstraint("incidents > 0", name="incidents_positive"),
    )
    op.create_index("ix_crime_counts_import_id", "crime_counts", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_crime_counts_import_id", table_name="crime_counts")
    op.drop_table("crime_counts")
    op.drop_table("crime_imports")
