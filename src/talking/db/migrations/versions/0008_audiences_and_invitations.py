"""Members surveys: surveys.audience and the invitations table (one answer per invitation).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from talking.db.models import BigId, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Not a batch (table copy): dropping the old surveys table would trip the foreign keys of
        # every response. SQLite takes a column with its own CHECK in a plain ADD COLUMN.
        op.execute(
            "ALTER TABLE surveys ADD COLUMN audience VARCHAR(10) DEFAULT 'open' NOT NULL"
            " CONSTRAINT ck_surveys_audience_known CHECK (audience IN ('open', 'members'))"
        )
    else:
        op.add_column("surveys", sa.Column("audience", sa.String(10), nullable=False, server_default="open"))
        op.create_check_constraint("audience_known", "surveys", "audience IN ('open', 'members')")
    op.create_table(
        "invitations",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("district_code", sa.String(9), sa.ForeignKey("districts.code"), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("invited_at", UTCDateTime(), nullable=False),
        sa.Column("used_on", sa.Date(), nullable=True),
        sa.Column("reminders_sent", sa.SmallInteger(), nullable=False),
        sa.Column("last_reminded_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("token_hash"),
        sa.UniqueConstraint("survey_id", "member_id", name="uq_invitations_survey_member"),
        sa.CheckConstraint("reminders_sent BETWEEN 0 AND 2", name="reminders_range"),
    )
    op.create_index("ix_invitations_survey_district", "invitations", ["survey_id", "district_code"])
    op.create_index("ix_invitations_member_id", "invitations", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_invitations_member_id", table_name="invitations")
    op.drop_index("ix_invitations_survey_district", table_name="invitations")
    op.drop_table("invitations")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE surveys DROP COLUMN audience")  # its CHECK goes with it
    else:
        op.drop_constraint("audience_known", "surveys", type_="check")
        op.drop_column("surveys", "audience")
